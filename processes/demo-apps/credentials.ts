/**
 * Demo credentials. They are secrets like any other: the demo apps and the shipped bots read them by
 * name from the environment (or the bot secrets file); these defaults apply when neither sets them.
 */
export const demoSecretDefaults: Readonly<Record<string, string>> = {
  CREDIT_BUREAU_USER: 'loan.clerk',
  CREDIT_BUREAU_PASSWORD: 'bureau-demo-pass',
  CORE_BANKING_USER: 'backoffice',
  CORE_BANKING_PASSWORD: 'banking-demo-pass',
  CARRIER_USER: 'shipping.desk',
  CARRIER_PASSWORD: 'carrier-demo-pass',
  WAREHOUSE_USER: 'stock.viewer',
  WAREHOUSE_PASSWORD: 'warehouse-demo-pass',
};

/** The credential the demo apps accept: environment first, then the demo default. */
export function demoCredential(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[name] ?? env[`OPERON_SECRET_${name}`] ?? demoSecretDefaults[name] ?? '';
}
