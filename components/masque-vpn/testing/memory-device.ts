import type { PacketDevice } from '../device.ts';
import { echoReply } from './packets.ts';

/**
 * In-process packet devices, so the codec and forwarding tests run without root: a {@link MemoryDevice}
 * records what the endpoint writes into it and lets the test inject packets "from the kernel"; with
 * `echo`, it answers ICMP echo requests and UDP datagrams itself (the unprivileged responder behind a
 * server).
 */
export class MemoryDevice implements PacketDevice {
  readonly name: string;
  readonly mtu: number;
  /** Packets the endpoint wrote into the device, in order (copies). */
  readonly written: Buffer[] = [];
  readonly addresses: string[] = [];
  readonly routes: string[] = [];
  up = true;
  private receiver: ((p: Buffer) => void) | undefined;
  private readonly echo: boolean;

  constructor(name: string, mtu: number, opts: { echo?: boolean } = {}) {
    this.name = name;
    this.mtu = mtu;
    this.echo = opts.echo ?? false;
  }

  /** Delivers `p` to the endpoint as if the kernel had routed it into the TUN. */
  inject(p: Uint8Array): void {
    this.receiver?.(Buffer.from(p));
  }

  write(packet: Uint8Array): void {
    if (!this.up) throw new Error(`${this.name} is down`);
    this.written.push(Buffer.from(packet));
    if (this.echo) {
      const reply = echoReply(packet);
      if (reply) setImmediate(() => this.inject(reply));
    }
  }
  onPacket(receiver: (p: Buffer) => void): void {
    this.receiver = receiver;
  }
  onError(): void {}
  linkUp(): boolean {
    return this.up;
  }
  async addAddress(cidr: string): Promise<void> {
    this.addresses.push(cidr);
  }
  async flushAddresses(): Promise<void> {
    this.addresses.length = 0;
  }
  async addRoute(cidr: string): Promise<void> {
    this.routes.push(cidr);
  }
  async close(): Promise<void> {
    this.up = false;
  }
}
