/**
 * `threads` means threads: models/gpt/model.py `set_threads` limits torch and the OpenBLAS that
 * Debian's python3-torch loads, which otherwise starts one thread per core whatever
 * torch.set_num_threads says (two trainings at threads=1 then fight over two cores).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { hasTorch, python } from './tiny-corpus.ts';

const torchAvailable = await hasTorch();

const PROBE = `
import ctypes, json, os, sys
sys.path.insert(0, 'models/gpt')
import torch
from model import set_threads
set_threads(int(sys.argv[1]))
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libopenblas' in l.rsplit('/', 1)[-1]})
a = torch.randn(512, 128)
w = torch.randn(128, 512, requires_grad=True)
for _ in range(200):
    (a @ w).sum().backward()
others = 0
for tid in os.listdir('/proc/self/task'):
    if int(tid) != os.getpid():
        stat = open(f'/proc/self/task/{tid}/stat').read().rsplit(')', 1)[1].split()
        others += int(stat[11]) + int(stat[12])
print(json.dumps({'torch': torch.get_num_threads(), 'openblas': [ctypes.CDLL(p).openblas_get_num_threads() for p in libs], 'othersTicks': others}))
`;

test('set_threads(1): torch and OpenBLAS compute on the calling thread only', {
  skip: !torchAvailable && 'no PyTorch',
}, async () => {
  // No OMP_NUM_THREADS / OPENBLAS_NUM_THREADS: OpenBLAS would start a thread per core.
  const out = JSON.parse(await python(['-c', PROBE, '1'], { env: { OMP_NUM_THREADS: '', OPENBLAS_NUM_THREADS: '' } }));
  assert.equal(out.torch, 1);
  for (const n of out.openblas) assert.equal(n, 1, `OpenBLAS threads: ${out.openblas}`);
  assert.equal(out.othersTicks, 0, 'no other thread of the process used CPU time');
});

test('OMP_NUM_THREADS caps set_threads, as the test runner and a busy machine set it', {
  skip: !torchAvailable && 'no PyTorch',
}, async () => {
  const out = JSON.parse(await python(['-c', PROBE, '2'], { env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '' } }));
  assert.equal(out.torch, 1);
  for (const n of out.openblas) assert.equal(n, 1, `OpenBLAS threads: ${out.openblas}`);
});

test('every training script sets its threads through set_threads', () => {
  const dir = 'models/gpt';
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.py') && f !== 'model.py');
  for (const file of scripts) {
    const source = readFileSync(join(dir, file), 'utf8');
    assert.doesNotMatch(source, /torch\.set_num_threads\(/, `${file} calls torch.set_num_threads directly`);
  }
  for (const file of ['train.py', 'pretrain.py', 'finetune.py', 'export.py', 'logits.py'])
    assert.match(readFileSync(join(dir, file), 'utf8'), /\bset_threads\(/, file);
});
