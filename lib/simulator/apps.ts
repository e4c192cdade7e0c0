// The apps (official accounts, component apps, authorizers) WeChat knows,
// and the appid/secret check shared by /cgi-bin/token, stable_token and
// api_component_token.
import { ERR, type WeChatError } from './errors.js';

export interface AppRecord {
  /** Unset until configured or adopted from the first successful call. */
  secret?: string;
  /** Per-app token lifetime in seconds, overriding the global one. */
  expiresIn?: number;
  /** Marked invalid by the admin: every call answers 40013. */
  invalid: boolean;
}

export interface AppPatch {
  secret?: string;
  expiresIn?: number | null;
  invalid?: boolean;
}

export class AppRegistry {
  private readonly apps = new Map<string, AppRecord>();

  get(appid: string): AppRecord | undefined {
    return this.apps.get(appid);
  }

  /** Creates or updates an app; fields not given keep their value. */
  configure(appid: string, patch: AppPatch): AppRecord {
    const app = this.apps.get(appid) ?? { invalid: false };
    if (patch.secret !== undefined) app.secret = patch.secret;
    if (patch.expiresIn === null) delete app.expiresIn;
    else if (patch.expiresIn !== undefined) app.expiresIn = patch.expiresIn;
    if (patch.invalid !== undefined) app.invalid = patch.invalid;
    this.apps.set(appid, app);
    return app;
  }

  /**
   * WeChat's credential check. In open mode an unknown appid is created with
   * the secret of its first call, so later calls must use that same secret.
   */
  authenticate(appid: string, secret: string, open: boolean): WeChatError | null {
    if (appid === '') return ERR.appidMissing;
    if (secret === '') return ERR.appsecretMissing;
    const known = this.check(appid, open);
    if (known) return known;
    const app = this.configure(appid, {});
    if (app.secret === undefined) app.secret = secret;
    return app.secret === secret ? null : ERR.invalidAppsecret;
  }

  /** Appid-only check for calls that carry no secret (oauth, authorizers). */
  check(appid: string, open: boolean): WeChatError | null {
    if (appid === '') return ERR.appidMissing;
    const app = this.apps.get(appid);
    if (app ? app.invalid : !open) return ERR.invalidAppid;
    return null;
  }

  clear(): void {
    this.apps.clear();
  }
}
