/**
 * `operon api-key create --role R[,R] [--task-types a,b] [--name N] [--json]`: a key for a machine,
 * printed once (only its hash is stored). `operon api-key list` and `operon api-key revoke ID`.
 * See docs/security.md.
 */
import { createApiKey, listApiKeys, revokeApiKey } from '../../http/auth.ts';
import type { Role } from '../../http/identity.ts';
import { stringFlag, type ParsedArgs } from '../args.ts';
import { openContext } from '../context.ts';
import { cliActor } from './compliance.ts';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

export async function apiKeyCommand(args: ParsedArgs): Promise<number> {
  const [action, id] = args.positionals;
  if (!['create', 'list', 'revoke'].includes(action ?? '')) {
    console.error(
      'usage: operon api-key create --role ROLE[,ROLE] [--task-types a,b] [--name NAME] | list | revoke ID',
    );
    return 2;
  }
  const context = await openContext({ logLevel: 'warn' });
  try {
    if (action === 'list') {
      const keys = await listApiKeys(context.db);
      if (args.flags.json) console.log(JSON.stringify(keys, null, 2));
      else
        for (const key of keys)
          console.log(
            `${key.id}  ${key.name}  ${key.roles.join(',')}${key.taskTypes ? `  types ${key.taskTypes.join(',')}` : ''}${key.revokedAt ? '  revoked' : ''}`,
          );
      return 0;
    }
    if (action === 'revoke') {
      const key = id ? await revokeApiKey(context.db, id, cliActor()) : undefined;
      if (!key) {
        console.error(`no API key ${id ?? ''}`);
        return 1;
      }
      console.log(`revoked ${key.id} (${key.name})`);
      return 0;
    }
    const roles = list(stringFlag(args, 'role') ?? stringFlag(args, 'roles')) as Role[];
    const taskTypes = list(stringFlag(args, 'task-types'));
    const { token, key } = await createApiKey(
      context.db,
      {
        name: stringFlag(args, 'name') ?? roles.join('+'),
        roles,
        ...(taskTypes.length > 0 ? { taskTypes } : {}),
      },
      cliActor(),
    );
    if (args.flags.json) console.log(JSON.stringify({ token, key }, null, 2));
    else {
      console.log(token);
      console.error(`API key ${key.id} (${key.name}, roles ${key.roles.join(',')}) created; the key is shown only now`);
    }
    return 0;
  } finally {
    await context.close();
  }
}
