import fc from "fast-check";
import { describe, expect, test, vi } from "vitest";
import type { PortMetrics } from "../src/mod.ts";
import type { EndpointMetrics } from "../runner/metrics/endpoint_metrics.ts";
import { WorkerMetrics } from "../runner/metrics/worker_metrics.ts";

const ZERO: PortMetrics = {
  connectionsAccepted: 0,
  connectionsRefused: 0,
  connectionsOpen: 0,
  bytesRead: 0,
  bytesWritten: 0,
  acceptFailuresPeerGone: 0,
  acceptFailuresResources: 0,
  acceptFailuresOther: 0,
  tlsHandshakesCompleted: 0,
  tlsHandshakesFailed: 0,
  proxyHeadersRejected: 0,
  connectionsClosedIdle: 0,
  connectionsClosedProtocolError: 0,
};
const TCP = "tcp:127.0.0.1:8000";

/** A worker whose counters the test moves: what it answers when asked. */
class FakeWorker {
  accepted = 0;
  open = 0;
  answers = true;
  snapshot(): EndpointMetrics[] {
    return [{ endpoint: TCP, port: { ...ZERO, connectionsAccepted: this.accepted, connectionsOpen: this.open, bytesRead: 10 * this.accepted } }];
  }
  ask = async (): Promise<EndpointMetrics[]> => {
    if (!this.answers) return await new Promise<never>(() => {});
    return this.snapshot();
  };
}

const port = (sum: EndpointMetrics[]) => sum.find((m) => m.endpoint === TCP)?.port;

describe("WorkerMetrics", () => {
  test("sums the workers running now, endpoint by endpoint, open connections included", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const [a, b] = [new FakeWorker(), new FakeWorker()];
    Object.assign(a, { accepted: 3, open: 1 });
    Object.assign(b, { accepted: 4, open: 2 });
    metrics.join(a, a.ask);
    metrics.join(b, b.ask);
    expect(port(await metrics.collect())).toEqual({ ...ZERO, connectionsAccepted: 7, connectionsOpen: 3, bytesRead: 70 });
  });

  test("a worker that drained and was replaced keeps its final counts in the sum, not its open connections", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const old = Object.assign(new FakeWorker(), { accepted: 5, open: 2 });
    metrics.join(old, old.ask);
    await metrics.collect();
    // It served 3 more after the last scrape and drained: its final report says so.
    old.accepted = 8;
    old.open = 0;
    metrics.retire(old, old.snapshot());
    const fresh = Object.assign(new FakeWorker(), { accepted: 1, open: 1 });
    metrics.join(fresh, fresh.ask);
    expect(port(await metrics.collect())).toEqual({ ...ZERO, connectionsAccepted: 9, connectionsOpen: 1, bytesRead: 90 });
  });

  test("a worker killed without a final report counts with what it last answered, its open connections gone", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const killed = Object.assign(new FakeWorker(), { accepted: 6, open: 4 });
    metrics.join(killed, killed.ask);
    expect(port(await metrics.collect())?.connectionsAccepted).toBe(6);
    metrics.retire(killed);
    expect(port(await metrics.collect())).toEqual({ ...ZERO, connectionsAccepted: 6, bytesRead: 60 });
    expect(metrics.size).toBe(0);
  });

  test("retiring a worker twice counts it once", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const w = Object.assign(new FakeWorker(), { accepted: 2 });
    metrics.join(w, w.ask);
    metrics.retire(w, w.snapshot());
    metrics.retire(w);
    metrics.retire(w, w.snapshot());
    expect(port(await metrics.collect())?.connectionsAccepted).toBe(2);
  });

  test("a worker retired while it is being asked is counted once, from its final report", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const w = Object.assign(new FakeWorker(), { accepted: 2 });
    let answer!: (m: EndpointMetrics[]) => void;
    metrics.join(w, () => new Promise((resolve) => (answer = resolve)));
    const scrape = metrics.collect();
    w.accepted = 3;
    metrics.retire(w, w.snapshot());
    answer(w.snapshot());
    expect(port(await scrape)?.connectionsAccepted).toBe(3);
    expect(port(await metrics.collect())?.connectionsAccepted).toBe(3);
  });

  test("a worker that does not answer in time counts with its last answer, and the scrape does not wait for it", async () => {
    vi.useFakeTimers();
    try {
      const metrics = new WorkerMetrics<FakeWorker>({ timeout: 500 });
      const [stuck, fine] = [Object.assign(new FakeWorker(), { accepted: 4 }), Object.assign(new FakeWorker(), { accepted: 1 })];
      metrics.join(stuck, stuck.ask);
      metrics.join(fine, fine.ask);
      await metrics.collect();
      stuck.answers = false;
      stuck.accepted = 100;
      fine.accepted = 2;
      const scrape = metrics.collect();
      await vi.advanceTimersByTimeAsync(500);
      expect(port(await scrape)?.connectionsAccepted).toBe(4 + 2);
    } finally {
      vi.useRealTimers();
    }
  });

  test("a worker that never answered and dies adds nothing, and the sum keeps the endpoints of workers gone", async () => {
    const metrics = new WorkerMetrics<FakeWorker>();
    const mute = Object.assign(new FakeWorker(), { answers: false });
    metrics.join(mute, async () => Promise.reject(new Error("Unknown request 'metrics'")));
    const unix: EndpointMetrics = { endpoint: "unix:/tmp/s.sock", port: { ...ZERO, connectionsAccepted: 1 } };
    const first = new FakeWorker();
    metrics.join(first, async () => [unix]);
    await metrics.collect();
    metrics.retire(mute);
    metrics.retire(first);
    expect(await metrics.collect()).toEqual([unix]);
  });

  test("no counter of the sum ever goes down, whatever the order of scrapes, restarts, generations and deaths", async () => {
    type Step = { op: "serve"; w: number; n: number } | { op: "scrape" } | { op: "drain"; w: number } | { op: "kill"; w: number } | { op: "reload" };
    const step = fc.oneof(
      fc.record({ op: fc.constant("serve" as const), w: fc.nat(3), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ op: fc.constant("scrape" as const) }),
      fc.record({ op: fc.constant("drain" as const), w: fc.nat(3) }),
      fc.record({ op: fc.constant("kill" as const), w: fc.nat(3) }),
      fc.record({ op: fc.constant("reload" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps: Step[]) => {
        const metrics = new WorkerMetrics<FakeWorker>();
        let slots = [0, 1, 2, 3].map(() => new FakeWorker());
        for (const w of slots) metrics.join(w, w.ask);
        let served = 0;
        let lostToKills = 0;
        let previous = 0;
        const replace = (i: number) => {
          slots[i] = new FakeWorker();
          metrics.join(slots[i]!, slots[i]!.ask);
        };
        // What each worker had when it last answered: a kill loses what came after.
        const answered = new Map<FakeWorker, number>();
        for (const s of steps) {
          if (s.op === "serve") {
            slots[s.w]!.accepted += s.n;
            served += s.n;
          } else if (s.op === "scrape") {
            for (const w of slots) answered.set(w, w.accepted);
            const now = port(await metrics.collect())?.connectionsAccepted ?? 0;
            expect(now).toBeGreaterThanOrEqual(previous);
            previous = now;
          } else if (s.op === "drain") {
            metrics.retire(slots[s.w]!, slots[s.w]!.snapshot());
            replace(s.w);
          } else if (s.op === "kill") {
            lostToKills += slots[s.w]!.accepted - (answered.get(slots[s.w]!) ?? 0);
            metrics.retire(slots[s.w]!);
            replace(s.w);
          } else {
            // A reload: a whole new generation joins while the old one drains, then the old one leaves.
            const old = slots;
            slots = old.map(() => new FakeWorker());
            for (const w of slots) metrics.join(w, w.ask);
            for (const w of old) metrics.retire(w, w.snapshot());
          }
        }
        for (const w of slots) answered.set(w, w.accepted);
        const final = port(await metrics.collect())?.connectionsAccepted ?? 0;
        expect(final).toBeGreaterThanOrEqual(previous);
        // Exact: everything served, less what killed workers did after their last answer.
        expect(final).toBe(served - lostToKills);
      }),
      { numRuns: 200 },
    );
  });
});
