/**
 * The interface between network frontends (virtio-net) and host backends (bhyve
 * net_backends.h: "the interface between network frontends and backends"): whole
 * Ethernet frames out, whole frames in. send() never blocks (a backend may drop when
 * its host side is congested, as a NIC would); received frames go to the installed
 * receiver, which may ask the backend to pause until resume().
 */
export interface NetBackend {
  readonly description: string;
  /** Sends one frame (the bytes are copied or consumed before send returns). */
  send(frame: Uint8Array): void;
  setReceiver(rx: ((frame: Uint8Array) => void) | undefined): void;
  /** Stop delivering frames until resume() (best effort: datagram backends may drop). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Largest frame tsbhyve accepts from a guest or a backend (VTNET_MAX_PKT_LEN). */
export const MAX_FRAME = 65536 + 64;
