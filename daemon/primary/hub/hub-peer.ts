import type { HubToThread } from "../../../protocol/hub-messages.ts";

/** A thread as the chat hub sees it: somewhere to send messages. */
export interface HubPeer {
  send(message: HubToThread): void;
  readonly worker: number;
  readonly thread: number;
}
