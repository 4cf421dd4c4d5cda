/** What Linux's /proc says of a process: CPU time and resident memory. */
import { readFileSync, writeFileSync } from "node:fs";

const TICKS = 100; // USER_HZ, 100 on every Linux this runs on

/** User + system CPU seconds used so far by `pid`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function statusField(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Resident bytes now. */
export const rss = (pid: number) => statusField(pid, "VmRSS");

/** Peak resident bytes since start or the last `resetPeak`. */
export const peakRss = (pid: number) => statusField(pid, "VmHWM");

/** Resets the peak-RSS mark (Linux ≥ 4.0), so each scenario gets its own peak. */
export function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not permitted here: peaks then cover the server's whole life, which the report says.
  }
}
