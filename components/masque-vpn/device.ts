/**
 * What the tunnel endpoints forward IP packets to and from: a TUN device (tun.ts) in production, an
 * in-process responder (testing/) in the unprivileged tests. One packet per `write`, one per `onPacket`.
 */
export interface PacketDevice {
  /** Interface name (`masque0`), for logs. */
  readonly name: string;
  /** Largest packet the device takes, in bytes. */
  readonly mtu: number;
  /**
   * Sends one IP packet into the device (to the local kernel).
   * @throws Error when the device is closed or the write fails (the caller counts a `tun` error).
   */
  write(packet: Uint8Array): void;
  /**
   * Registers the receiver of packets coming out of the device; one receiver, set once. A packet may be a
   * view of a buffer the device reuses (the TUN's): valid during the call only, copy what must outlive it.
   */
  onPacket(receiver: (packet: Buffer) => void): void;
  /** Registers the receiver of read errors (the device stops reading after one). */
  onError(receiver: (err: Error) => void): void;
  /** True when the link is administratively up and running (read from the kernel for a TUN). */
  linkUp(): boolean;
  /** Adds an address (`A.B.C.D/N`) to the interface. @throws Error when the kernel refuses. */
  addAddress(cidr: string): Promise<void>;
  /** Removes every address of the interface. */
  flushAddresses(): Promise<void>;
  /** Routes `cidr` through the interface (replacing a route to the same prefix). @throws Error when the kernel refuses. */
  addRoute(cidr: string): Promise<void>;
  /** Stops reading and releases the device. Idempotent. */
  close(): Promise<void>;
}
