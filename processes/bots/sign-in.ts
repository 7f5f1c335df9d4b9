/** The sign-in every demo app asks for: user name and password are secrets, typed inside `secrets.use`. */
import type { Page } from 'playwright-core';
import type { BotSecrets } from '../../nodes/bot/define.ts';

/** Signs in at `appUrl/login` with the secrets `<prefix>_USER` / `<prefix>_PASSWORD`; throws when refused. */
export async function signIn(page: Page, secrets: BotSecrets, appUrl: string, secretPrefix: string): Promise<void> {
  await page.goto(`${appUrl}/login`);
  await secrets.use(async ({ fill }) => {
    await fill(page.locator('#username'), `${secretPrefix}_USER`);
    await fill(page.locator('#password'), `${secretPrefix}_PASSWORD`);
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.locator('button[type=submit]').click()]);
    await page.waitForURL((url) => !url.pathname.endsWith('/login'), { timeout: 5_000 }).catch(() => undefined);
  });
  if (new URL(page.url()).pathname.endsWith('/login')) {
    const message = (
      await page
        .locator('.error')
        .first()
        .textContent({ timeout: 1_000 })
        .catch(() => null)
    )?.trim();
    throw new Error(`Sign-in to ${appUrl} refused${message ? `: ${message}` : ''}`);
  }
}

/** Parses an amount as the apps print it (`142,000`, `1,234.50`). */
export function parseAmount(text: string | null): number {
  const value = Number((text ?? '').replace(/[^\d.-]/g, ''));
  if (!Number.isFinite(value)) throw new Error(`Not an amount: ${text}`);
  return value;
}

/** The demo app root URL of a bot: `baseUrl` is the demo apps' server root. */
export function appUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}
