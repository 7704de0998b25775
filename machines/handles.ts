/**
 * Opaque handles for objects owned by the browser actors (PeerJS Peer / MediaConnection). The
 * machines only carry them from one actor to another, so they are branded to stop machine code
 * from reaching into them, and so a test can pass any plain object.
 */

declare const signalingBrand: unique symbol;
declare const callBrand: unique symbol;

export type SignalingHandle = { readonly [signalingBrand]: true };
export type CallHandle = { readonly [callBrand]: true };

/** Only the actor implementations (and tests) should wrap or unwrap handles. */
export function toSignalingHandle(value: object): SignalingHandle {
  return value as SignalingHandle;
}

export function toCallHandle(value: object): CallHandle {
  return value as CallHandle;
}

export function fromHandle<T extends object>(handle: SignalingHandle | CallHandle): T {
  return handle as unknown as T;
}
