import type { Connection, Socket } from "../../src/mod.ts";

/** A socket that takes every write and records what the connection asked of it. */
export class FakeSocket implements Socket {
  calls: string[] = [];
  pending = 0;
  /** Set by a test to report the close back to its connection. */
  onClosed: (() => void) | undefined;

  write(data: Uint8Array): number {
    return data.length;
  }
  pauseReading(): void {}
  resumeReading(): void {}
  shutdownWrite(): void {
    this.calls.push("shutdownWrite");
  }
  close(): void {
    this.calls.push("close");
    this.onClosed?.();
  }
  abort(): void {
    this.calls.push("abort");
    this.onClosed?.();
  }
}

/** A socket that takes everything and reports closing at once, as a dial's result. */
export class NullSocket implements Socket {
  connection: Connection | undefined;
  readonly pending = 0;
  write(data: Uint8Array): number {
    return data.length;
  }
  pauseReading(): void {}
  resumeReading(): void {}
  shutdownWrite(): void {}
  close(): void {
    this.connection?.closed();
  }
  abort(): void {
    this.connection?.closed(new Error("aborted"));
  }
}
