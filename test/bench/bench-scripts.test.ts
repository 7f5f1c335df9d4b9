/**
 * Every benchmark script runs end to end in its tiny `--quick` configuration and prints its result
 * line, so the scripts do not rot. No timing is asserted: benchmark numbers are never test results.
 */
import { describe, it as test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
// The limit only catches a hung script: at a load average of 12-19 (three test files at a time
// beside four busy loops) bench/decision.ts --quick took over the two minutes this used to allow.
const bench = (script: string, ...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', `bench/${script}`, '--quick', ...args], {
    timeout: 600_000,
    maxBuffer: 10 * 1024 * 1024,
  });

// The scripts mostly wait (on PostgreSQL, child processes, timers): run them side by side.
describe('bench scripts (--quick)', { concurrency: true }, () => {
  test('bench/engine.ts ends with instances_per_s, pgbench_tps and their ratio', async () => {
    const { stdout } = await bench('engine.ts', '--only-main');
    const last = stdout.trim().split('\n').pop()!;
    assert.match(last, /^instances_per_s=[\d.]+ pgbench_tps=[\d.]+ ratio=[\d.]+$/);
    const [, perSecond, tps] = /instances_per_s=([\d.]+) pgbench_tps=([\d.]+)/.exec(last)!;
    assert.ok(Number(perSecond) > 0 && Number(tps) > 0);
    assert.match(stdout, /peer bpmn_engine_per_s=[\d.]+ operon_memory_per_s=[\d.]+/);
  });

  test('bench/webhooks.ts persists every accepted request', async () => {
    const { stdout } = await bench('webhooks.ts', '--rate', '20', '--seconds', '3', '--connections', '4');
    const last = stdout.trim().split('\n').pop()!;
    const match = /accepted=(\d+) persisted=(\d+) all_persisted=(true|false)/.exec(last);
    assert.ok(match, last);
    assert.ok(Number(match[1]) > 0, last);
    assert.equal(match[3], 'true', last); // every 202 has its instance (in-flight requests at the end may add some)
  });

  test('bench/pickup.ts reports pickup percentiles', async () => {
    const { stdout } = await bench('pickup.ts', '--count', '5');
    assert.match(stdout.trim().split('\n').pop()!, /^pickup_p50_ms=\d+ pickup_p99_ms=\d+ /);
  });

  test('bench/decision.ts compares the agent and the process with the bare onnxruntime call', async () => {
    const { stdout } = await bench('decision.ts', '--instances', '20');
    const last = stdout.trim().split('\n').pop()!;
    const keys = [
      'agent_p50_ms',
      'bare_p50_ms',
      'p50_overhead',
      'agent_per_s',
      'bare_per_s',
      'throughput_overhead',
      'bare_in_runs_per_s',
      'in_runs_overhead',
      'process_per_s',
      'process_job_p50_ms',
      'process_vs_bare',
      'process_overhead',
      'process_net_overhead',
      'backlog_per_s',
      'backlog_overhead',
      'backlog_net_overhead',
    ];
    assert.match(last, new RegExp(`^${keys.map((key) => `${key}=-?[\\d.]+`).join(' ')}$`), last);
    assert.match(
      stdout,
      /^process decision:loan concurrency=128 .* instances=20 .* \| backlog seconds=[\d.]+ decisions_per_s=[\d.]+ /m,
    );
    assert.match(stdout, /"sameLabels":true/); // the bare baseline decides as the agent does
    assert.match(stdout, /"boundaryCheck":\{"p50Ms":[\d.]+,"p50Overhead":[\d.]+\}/); // the check's cost, switched on
    assert.match(stdout, /"withoutRequirements":\{"p50Ms":[\d.]+,"p50Overhead":[\d.]+\}/); // what `requires` costs, beside the agent's p50
    // What a decision on a policy edge and one with a misspelt decisive word cost, on cases where the check ran.
    assert.match(stdout, /"onEdge":\{"cases":[1-9]\d*,"p50Ms":[\d.]+,"bareP50Ms":[\d.]+,"p50Overhead":[\d.]+\}/);
    assert.match(stdout, /"misspelt":\{"cases":[1-9]\d*,"p50Ms":[\d.]+,"bareP50Ms":[\d.]+,"p50Overhead":[\d.]+\}/);
  });

  test('bench/cli.ts times every CLI command', async () => {
    const { stdout } = await bench('cli.ts');
    assert.match(stdout, /^db-url-stopped +median=\d+ms /m);
    assert.match(
      stdout.trim().split('\n').pop()!,
      /^db_url_ms=\d+ deploy_ms=\d+ decide_ms=\d+ start_ms=\d+ worker_ms=\d+$/,
    );
  });

  test('bench/memory.ts reports the RSS waiting instances add', async () => {
    const { stdout } = await bench('memory.ts', '--count', '10');
    assert.match(stdout.trim().split('\n').pop()!, /^waiting_instances=10 rss_added_mb=-?[\d.]+ /);
  });
});
