// Wire types of the Socket.IO protocol (docs/protocol.md). Message and receipt shapes come from
// the generated OpenAPI types where the event has a REST twin.
import type { components } from "../api/schema";

export type Message = components["schemas"]["MessageOut"];
export type MessagePage = components["schemas"]["MessagePage"];
export type ConversationOut = components["schemas"]["ConversationOut"];
export type Icebreaker = components["schemas"]["Icebreaker"];
export type Reply = components["schemas"]["Reply"];

/** One reason a send needs confirmation ("Are you sure?"). */
export interface ConfirmReason {
  category: string;
  label: string;
}

/** `{ok: false, error}` of any acknowledgement. */
export interface AckError {
  code: string;
  message: string;
  reasons?: ConfirmReason[];
  retry_after_s?: number;
}

export type Ack<T extends object> = ({ ok: true } & T) | { ok: false; error: AckError };

export interface Receipt {
  conversation_id: string;
  user_id: string;
  delivered_seq: number;
  read_seq: number | null;
}

export interface SyncConversation {
  conversation_id: string;
  match_id: string | null;
  peer_id: string | null;
  last_seq: number;
  messages: Message[];
  limited: boolean;
  next_cursor: number | null;
}

export interface SyncAck {
  conversations: SyncConversation[];
  closed: string[];
}

export interface TypingEvent {
  conversation_id: string;
  user_id: string;
  active: boolean;
}

export interface PresenceEvent {
  user_id: string;
  online: boolean;
  last_seen_at: string | null;
}

export interface ClosedEvent {
  conversation_id: string;
  reason: string;
}

export interface MatchEvent {
  match_id: string;
  conversation_id: string;
}

export interface Suggestions {
  conversation_id: string;
  replies: Reply[];
  topics: string[];
  language: string;
}

export interface IcebreakerEvent {
  conversation_id: string;
  icebreaker: Icebreaker;
}

export interface SafetyWarning {
  conversation_id: string;
  message_id: string;
  flags: string[];
  prompt: string;
}

export interface CoachEvent {
  conversation_id: string;
  reason: string;
  topics: string[];
  replies: Reply[];
}

/** The payload of `message:send`. */
export interface SendPayload {
  conversation_id: string;
  client_msg_id: string;
  kind: "text";
  body: string;
  ai_suggestion?: boolean;
  confirm?: boolean;
}
