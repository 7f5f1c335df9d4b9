/** `npm run demo-apps`: serves the four demo web applications until Ctrl-C (port DEMO_APPS_PORT, default 3100). */
import { startDemoApps } from './index.ts';

const apps = await startDemoApps({ host: process.env.DEMO_APPS_HOST });
console.log(`Demo applications on ${apps.baseUrl}`);
for (const [bot, url] of Object.entries(apps.urls)) console.log(`  ${bot.padEnd(13)} ${url}`);
console.log('Sign-in credentials: docs/shipped-bots.md (OPERON_SECRET_CREDIT_BUREAU_USER ...).');
const stop = () => void apps.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
