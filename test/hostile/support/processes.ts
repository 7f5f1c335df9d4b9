/**
 * Counting a browser's processes from /proc: every descendant of a process (the test process, which
 * launched Chromium) whose command name is Chromium's, so renderer, GPU, utility and zygote
 * processes all count. Linux only.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
  rssKb: number;
  /** Chromium's role from the command line: `browser`, `renderer`, `zygote`, `gpu-process`, `utility:<service>`... */
  role: string;
}

function roleOf(pid: string, name: string): string {
  try {
    // Chromium rewrites its command line into one space-separated string (setproctitle).
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    const type = args.find((arg) => arg.startsWith('--type='))?.slice('--type='.length);
    const service = args.find((arg) => arg.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length);
    if (type) return service ? `${type}:${service}` : type;
    return name === 'chromium' || name === 'chrome' ? 'browser' : name;
  } catch {
    return 'gone';
  }
}

function readProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm is in parentheses and may itself contain spaces or parentheses: split at the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      entries.push({
        pid: Number(name),
        ppid: Number(fields[1]),
        name: stat.slice(stat.indexOf('(') + 1, close),
        rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
        role: '',
      });
    } catch {
      // The process ended while we read it.
    }
  }
  return entries;
}

/** Chromium processes below `rootPid` (default: this process), with their resident memory. */
export function browserProcesses(rootPid = process.pid): ProcessEntry[] {
  const all = readProcesses();
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of all) children.set(entry.ppid, [...(children.get(entry.ppid) ?? []), entry]);
  const found: ProcessEntry[] = [];
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    // Zombies (exited, not yet reaped) have no VmRSS line and are no longer running.
    if (/chrom/i.test(entry.name) && entry.rssKb > 0)
      found.push({ ...entry, role: roleOf(String(entry.pid), entry.name) });
    stack.push(...(children.get(entry.pid) ?? []));
  }
  return found;
}
