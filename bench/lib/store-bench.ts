// What the forward -> store benches (bench/elasticsearch, bench/s3) share: the record they
// send, a number printer, and the CPU and peak RSS of a process tree read from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A typical access-log record, 9 fields. */
export const RECORD = {
  host: 'web-1',
  level: 'info',
  method: 'GET',
  path: '/api/items/42',
  status: 200,
  bytes: 5120,
  duration_ms: 12.5,
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) bench',
  message: 'request served',
};
/** Its size as a JSON line. */
export const JSON_BYTES = JSON.stringify(RECORD).length + 1;

export const fmt = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);

export function tree(pid: number): number[] {
  try {
    const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    return [pid, ...kids.map(Number)];
  } catch {
    return [pid];
  }
}

export function usage(pids: number[]): { cpuSec: number; hwmMb: number } {
  let cpuSec = 0;
  let kb = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpuSec += (Number(stat[11]) + Number(stat[12])) / 100;
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += hwm ? Number(hwm[1]) : 0;
    } catch {
      /* gone */
    }
  }
  return { cpuSec, hwmMb: kb / 1024 };
}
