// component_verify_ticket states. WeChat pushes a new ticket every 10 minutes
// and each lives 12 hours; tests mark tickets to reproduce 61005/61006.
import { ERR, type WeChatError } from './errors.js';

export const TICKET_STATES = ['valid', 'invalid', 'expired'] as const;
export type TicketState = (typeof TICKET_STATES)[number];

export class VerifyTicketRegistry {
  private readonly states = new Map<string, TicketState>();

  mark(ticket: string, state: TicketState): void {
    this.states.set(ticket, state);
  }

  /** Open mode accepts any non-empty ticket not marked otherwise. */
  check(ticket: string, open: boolean): WeChatError | null {
    const state = ticket === '' ? 'invalid' : (this.states.get(ticket) ?? (open ? 'valid' : 'invalid'));
    if (state === 'expired') return ERR.verifyTicketExpired;
    return state === 'invalid' ? ERR.verifyTicketInvalid : null;
  }

  clear(): void {
    this.states.clear();
  }
}
