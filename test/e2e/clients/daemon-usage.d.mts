export function daemonUsage(pid: number): { rssKiB: number; threads: number; fds: number };
