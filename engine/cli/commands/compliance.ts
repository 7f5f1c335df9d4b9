/**
 * `operon audit verify`, `operon erase --business-key K`, `operon evidence INSTANCE_ID`
 * (docs/security.md).
 */
import { userInfo } from 'node:os';
import type { Actor } from '../../store/audit-log.ts';
import { verifyAuditChain } from '../../store/audit-log.ts';
import { getErasure, requestErasure, runPendingErasures } from '../../store/erasures.ts';
import { instanceEvidence } from '../../store/evidence.ts';
import { defaultArtifactsDir } from '../../store/instance-data.ts';
import { stringFlag, type ParsedArgs } from '../args.ts';
import { openContext } from '../context.ts';

/** The operating-system user running the command: the audit trail's actor for CLI actions. */
export function cliActor(): Actor {
  let name = process.env.USER ?? 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers): the environment's USER
  }
  return { kind: 'cli', id: name };
}

/** `operon audit verify [--json]`: 0 when the chain is intact, 1 naming the first broken row. */
export async function auditCommand(args: ParsedArgs): Promise<number> {
  const [sub] = args.positionals;
  if (sub !== 'verify') throw new Error('usage: operon audit verify [--json]');
  const context = await openContext({ logLevel: 'warn' });
  try {
    const verdict = await verifyAuditChain(context.db);
    if (args.flags.json) console.log(JSON.stringify(verdict, null, 2));
    else if (verdict.ok)
      console.log(`audit chain intact: ${verdict.rows} rows, head seq ${verdict.headSeq} hash ${verdict.headHash}`);
    else console.error(`audit chain broken at seq ${verdict.seq}: ${verdict.reason} (${verdict.rows} rows read)`);
    return verdict.ok ? 0 : 1;
  } finally {
    await context.close();
  }
}

/**
 * `operon erase --business-key K [--json]`: records the erasure and carries it out now (an engine's
 * maintenance loop would pick it up too), then prints what it erased. The key is never printed.
 */
export async function eraseCommand(args: ParsedArgs): Promise<number> {
  const businessKey = stringFlag(args, 'business-key');
  if (!businessKey) throw new Error('usage: operon erase --business-key KEY [--json]');
  const context = await openContext({ logLevel: 'warn' });
  try {
    const requested = await requestErasure(context.db, businessKey, cliActor());
    await runPendingErasures(context.db, { owner: `cli:${process.pid}`, artifactsDir: defaultArtifactsDir() });
    const erasure = (await getErasure(context.db, requested.erasureId))!;
    if (args.flags.json) console.log(JSON.stringify(erasure, null, 2));
    else
      console.log(
        `erasure ${erasure.erasureId} ${erasure.state}: ${erasure.erasedInstances} instance(s) erased, ${erasure.deletedArtifacts} artifact file(s) deleted` +
          (erasure.skippedActive ? `, ${erasure.skippedActive} still active (cancel them, then erase again)` : '') +
          (erasure.skippedHeld ? `, ${erasure.skippedHeld} under legal hold` : ''),
      );
    return erasure.state === 'done' ? 0 : 1;
  } finally {
    await context.close();
  }
}

/** `operon evidence INSTANCE_ID`: the instance's evidence document as JSON. */
export async function evidenceCommand(args: ParsedArgs): Promise<number> {
  const [instanceId] = args.positionals;
  if (!instanceId || !/^[0-9a-f-]{36}$/i.test(instanceId)) throw new Error('usage: operon evidence INSTANCE_ID');
  const context = await openContext({ logLevel: 'warn' });
  try {
    const evidence = await instanceEvidence(context.db, instanceId);
    if (!evidence) {
      console.error(`no process instance ${instanceId}`);
      return 1;
    }
    console.log(JSON.stringify(evidence, null, 2));
    return 0;
  } finally {
    await context.close();
  }
}
