"""Fine-tunes an exported Operon GPT folder with LoRA and exports a new folder:

    /usr/bin/python3 models/gpt/finetune.py --model-dir models/loan --train CASES.jsonl [--held-out CASES.jsonl]
        --out DIR [--lr 5e-4 --weight-decay 0.01 --batch-size 16 --grad-clip 1.0 --steps 100
        --lora-rank 8 --lora-alpha 16 --threads 2 --seed 1 --version V]

Starts from <model-dir>/weights.pt (written by export.py). Each JSONL line is one encoded case,
`{"ids": [...], "label": <label index>}`: the token ids exactly as the runtime feeds them to
model.onnx (nodes/decision/finetune.ts encodes them with the runtime's tokenizer and token budget).

LoRA (Hu et al. 2021): every attention qkv / proj and MLP Linear layer gets a trainable low-rank
update B·A scaled by alpha/rank; the base weights are frozen. After training the update is merged
into the weights, so the exported graph is the plain GPT, as fast as the base model.

The loss is cross-entropy over the label verbalizers' logits at the scoring position (the last
prompt token), not the full language-model loss: that is the only output the runtime reads; the
ids fill up to the model's maxLength at inference, so there may be no room to append the label
word and an end token as train.py does; and reviewed cases are few, so spending the update on
predicting the prompt's own words (which reviewers did not change) would only pull the model away
from what it was pretrained on. Replayed policy-labelled cases in the training file keep it from
forgetting the rest.

After the merge the temperature is fitted on the held-out file (export.py's fit_temperature);
config.json is the base one with the new version, temperature calibration and a `finetune` record
(hyperparameters, cases, history, trainable parameters). Progress goes to stdout as JSON lines,
the last one `{"final": {...}}`.
"""
import argparse, datetime, json, math, os, random, shutil, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Ensemble, load_gpt, set_threads  # noqa: E402
from lineage import sha256  # noqa: E402
from export import ece, export_operon_onnx, fit_temperature, save_weights  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--model-dir', required=True)
    p.add_argument('--train', required=True)
    p.add_argument('--held-out')
    p.add_argument('--out', required=True)
    p.add_argument('--lr', type=float, default=5e-4)
    p.add_argument('--weight-decay', type=float, default=0.01)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--grad-clip', type=float, default=1.0)
    p.add_argument('--steps', type=int, default=100)
    p.add_argument('--lora-rank', type=int, default=8)
    p.add_argument('--lora-alpha', type=float)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--eval-every', type=int, default=0, help='steps between history entries (default: steps / 10)')
    p.add_argument('--version')
    args = p.parse_args(argv)
    bad = [name for name, ok in (('lr', args.lr > 0 and math.isfinite(args.lr)), ('weight-decay', args.weight_decay >= 0),
                                 ('batch-size', args.batch_size >= 1), ('grad-clip', args.grad_clip > 0),
                                 ('steps', args.steps >= 1), ('lora-rank', args.lora_rank >= 1), ('threads', args.threads >= 1)) if not ok]
    if bad:
        p.error('out of range: ' + ', '.join(bad))
    return args


class LoRALinear(nn.Module):
    """A frozen Linear plus a trainable low-rank update: y = W x + b + (alpha / r) B A x. B starts at
    zero, so training starts from exactly the base model."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale

    def merged(self):
        """The base Linear with the update folded into its weight."""
        with torch.no_grad():
            self.base.weight += (self.lora_b @ self.lora_a) * self.scale
        return self.base


def lora_targets(model):
    """(parent, attribute) of every Linear LoRA adapts: attention qkv and proj, both MLP layers."""
    for block in model.blocks:
        yield block, 'qkv'
        yield block, 'proj'
        yield block.mlp, '0'
        yield block.mlp, '2'


def apply_lora(model, rank, alpha):
    for p in model.parameters():
        p.requires_grad_(False)
    for parent, name in lora_targets(model):
        setattr(parent, name, LoRALinear(getattr(parent, name), rank, alpha))


def merge_lora(model):
    for parent, name in lora_targets(model):
        layer = getattr(parent, name)
        if isinstance(layer, LoRALinear):
            setattr(parent, name, layer.merged())


def read_cases(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def batch(rows, pad_id):
    """Right-padded ids and attention mask, as the runtime feeds model.onnx (classifier.ts)."""
    t = max(len(r['ids']) for r in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r['ids'])] = torch.tensor(r['ids'])
        mask[i, :len(r['ids'])] = 1
    return ids, mask


def verbalizer_logits(model, rows, verbalizers, pad_id, size=128):
    """Logits of each label's verbalizer at the scoring position, [N, L]."""
    out = []
    for i in range(0, len(rows), size):
        logits, _ = model.last(*batch(rows[i:i + size], pad_id))
        out.append(logits[:, verbalizers])
    return torch.cat(out)


@torch.no_grad()
def held_out_metrics(model, rows, verbalizers, pad_id, temperature=1.0):
    was_training = model.training
    model.eval()
    logits = verbalizer_logits(model, rows, verbalizers, pad_id)
    if was_training:
        model.train()
    targets = torch.tensor([r['label'] for r in rows])
    probs = F.softmax(logits / temperature, dim=1)
    return logits, targets, {
        'accuracy': round((probs.argmax(1) == targets).float().mean().item(), 4),
        'nll': round(F.cross_entropy(logits / temperature, targets).item(), 4),
        'ece': round(ece(probs, targets), 4),
    }


def lora_tune(model, train, held_out, args, alpha, rng, verbalizers, pad_id, member=None):
    """Trains LoRA adapters on `model` and merges them in place; returns what the record needs."""
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    apply_lora(model, args.lora_rank, alpha)
    trainable = [p for p in model.parameters() if p.requires_grad]
    trainable_names = {n for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.98))
    warmup = max(1, args.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    eval_every = args.eval_every or max(1, args.steps // 10)
    model.train()
    order, cursor = list(range(len(train))), len(train)
    started, history, losses = time.time(), [], []
    grads_outside_lora = set()
    for step in range(1, args.steps + 1):
        if cursor + args.batch_size > len(order):
            rng.shuffle(order)
            cursor = 0
        rows = [train[i] for i in order[cursor:cursor + args.batch_size]]
        cursor += args.batch_size
        ids, mask = batch(rows, pad_id)
        logits, _ = model.last(ids, mask)
        loss = F.cross_entropy(logits[:, verbalizers], torch.tensor([r['label'] for r in rows]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads_outside_lora.update(n for n, p in model.named_parameters() if p.grad is not None and n not in trainable_names)
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, args.grad_clip)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % eval_every == 0 or step == args.steps:
            entry = {'step': step, 'loss': round(sum(losses) / len(losses), 4), 'gradNorm': round(grad_norm.item(), 4),
                     'lr': round(sched.get_last_lr()[0], 8), 'seconds': round(time.time() - started, 1)}
            losses = []
            if held_out:
                entry['heldOut'] = held_out_metrics(model, held_out, verbalizers, pad_id)[2]
            if member is not None:
                entry['member'] = member
            history.append(entry)
            emit({'progress': entry})

    # Before the merge: the frozen weights are bit for bit the base ones; only the adapters moved.
    base_unchanged = all(torch.equal(p, base_state[n.replace('.base.', '.')]) for n, p in model.state_dict().items()
                         if 'lora_' not in n)
    if grads_outside_lora or not base_unchanged:
        raise SystemExit(f'LoRA leaked into frozen weights: gradients on {sorted(grads_outside_lora)[:5]}, base unchanged {base_unchanged}')
    trainable_count = sum(p.numel() for p in trainable)
    merge_lora(model)
    model.eval()
    merged = model.state_dict()
    changed = sorted(n for n, v in merged.items() if not torch.equal(v, base_state[n]))
    max_delta = max((float((merged[n] - base_state[n]).abs().max()) for n in changed), default=0.0)
    return {'history': history, 'trainable': trainable_count, 'baseUnchanged': base_unchanged,
            'gradientsOutsideLora': len(grads_outside_lora), 'changed': len(changed), 'maxDelta': max_delta,
            'seconds': round(time.time() - started, 1)}


def emit(obj):
    print(json.dumps(obj), flush=True)


def main(argv=None):
    args = parse_args(argv)
    set_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    alpha = args.lora_alpha if args.lora_alpha is not None else 2.0 * args.lora_rank

    weights_file = os.path.join(args.model_dir, 'weights.pt')
    if not os.path.exists(weights_file):
        raise SystemExit(f'{weights_file} is missing: re-export the model with models/gpt/export.py, which writes it')
    with open(os.path.join(args.model_dir, 'config.json')) as f:
        base_config = json.load(f)
    checkpoint = torch.load(weights_file)
    # An ensemble folder (export.py --member) holds every member in weights.pt: each gets the same adapters' training.
    members = []
    for state in [checkpoint, *(checkpoint.get('members') or [])]:
        members.append(load_gpt(state))
    model = members[0]
    verbalizers, pad_id = base_config['verbalizerIds'], base_config.get('padId', 0)
    max_len = model.config['max_len']
    if args.lora_rank > model.config['d_model']:
        raise SystemExit(f"--lora-rank {args.lora_rank} is larger than the model width {model.config['d_model']}")

    train = read_cases(args.train)
    held_out = read_cases(args.held_out) if args.held_out else []
    for r in train + held_out:
        if not (1 <= len(r['ids']) <= max_len) or not (0 <= r['label'] < len(verbalizers)):
            raise SystemExit(f'a case has {len(r["ids"])} ids (1..{max_len}) or label {r["label"]} (0..{len(verbalizers) - 1})')
    if not train:
        raise SystemExit('no training cases')

    total_params = sum(p.numel() for m in members for p in m.parameters())
    # The adapters' size, known before training: rank x (in + out) per adapted Linear.
    adapted = sum(args.lora_rank * (getattr(parent, name).in_features + getattr(parent, name).out_features)
                  for m in members for parent, name in lora_targets(m))
    hyper = {'lr': args.lr, 'weightDecay': args.weight_decay, 'batchSize': args.batch_size, 'gradClip': args.grad_clip,
             'steps': args.steps, 'loraRank': args.lora_rank, 'loraAlpha': alpha, 'seed': args.seed, 'threads': args.threads,
             'warmup': max(1, args.steps // 10), 'loss': 'verbalizer-cross-entropy', 'targets': ['qkv', 'proj', 'mlp.0', 'mlp.2']}
    emit({'start': {'hyperparameters': hyper, 'trainCases': len(train), 'heldOutCases': len(held_out),
                    'trainableParameters': adapted, 'parameters': total_params, 'members': len(members)}})

    runs = [lora_tune(m, train, held_out, args, alpha, rng, verbalizers, pad_id, member=i if len(members) > 1 else None)
            for i, m in enumerate(members)]
    history = [entry for run in runs for entry in run['history']]
    base_unchanged = all(run['baseUnchanged'] for run in runs)

    temperature, calibration = 1.0, None
    base_members = (base_config.get('ensemble') or {}).get('members') or []
    if len(members) > 1:
        # Each member is calibrated on the held-out cases (else keeps the base folder's temperature), then averaged.
        temperatures = []
        for i, m in enumerate(members):
            if held_out:
                logits, targets, _ = held_out_metrics(m, held_out, verbalizers, pad_id)
                temperatures.append(fit_temperature(logits, targets))
            else:
                temperatures.append(base_members[i]['temperature'] if i < len(base_members) else 1.0)
        model = Ensemble(members, temperatures, verbalizers).eval()
    if held_out:
        logits, targets, _ = held_out_metrics(model, held_out, verbalizers, pad_id)
        temperature = fit_temperature(logits, targets)
        calibration = held_out_metrics(model, held_out, verbalizers, pad_id, temperature)[2]

    os.makedirs(args.out, exist_ok=True)
    sample = [train[0], train[min(1, len(train) - 1)]]
    ids, mask = batch(sample, pad_id)
    export_operon_onnx(model, ids, mask, os.path.join(args.out, 'model.onnx'))
    # The folder's own files besides the weights: the tokenizer, the lexicon, the nearest-texts
    # check's labelled texts and the unvouched-words check's counts (config.json `neighbours.file`
    # and `vouch.file`, which the new config.json keeps). The counts stay those of the base model's
    # training texts: a word only the reviewed cases hold still goes to a person.
    check_files = [(base_config.get(key) or {}).get('file') for key in ('neighbours', 'vouch')]
    for name in ('tokenizer.json', 'lexicon.txt', *[f for f in check_files if f]):
        if os.path.exists(os.path.join(args.model_dir, name)):
            shutil.copyfile(os.path.join(args.model_dir, name), os.path.join(args.out, name))
    version = args.version or f"{base_config.get('version', '0')}+ft.{datetime.datetime.utcnow().strftime('%Y%m%d%H%M%S')}"
    record = {
        'baseVersion': base_config.get('version'),
        'baseWeightsSha256': sha256(weights_file),
        'hyperparameters': hyper,
        'cases': {'train': len(train), 'heldOut': len(held_out), 'trainSha256': sha256(args.train)},
        'trainableParameters': sum(run['trainable'] for run in runs),
        'parameters': total_params,
        'frozenWeightsUnchanged': base_unchanged,
        'gradientsOutsideLora': sum(run['gradientsOutsideLora'] for run in runs),
        'mergedTensors': sum(run['changed'] for run in runs),
        'maxMergedDelta': max(run['maxDelta'] for run in runs),
        'calibration': calibration,
        'history': history,
        'seconds': round(sum(run['seconds'] for run in runs), 1),
        **({'members': len(members)} if len(members) > 1 else {}),
    }
    config = dict(base_config)
    config['version'] = version
    # The base may have used content-free calibration: its bias was measured on the base weights.
    config['calibration'] = {'method': 'temperature', 'temperature': temperature, 'contentFreeLogits': None}
    config['finetune'] = record
    if len(members) > 1:
        config['ensemble'] = {**(base_config.get('ensemble') or {}), 'members': [
            {**(base_members[i] if i < len(base_members) else {}), 'temperature': t} for i, t in enumerate(model.temperatures.tolist())]}
    with open(os.path.join(args.out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    extra = {'members': [{'model_config': m.config, 'state_dict': m.state_dict()} for m in members[1:]]} if len(members) > 1 else {}
    save_weights(members[0], os.path.join(args.out, 'weights.pt'), finetune={k: v for k, v in record.items() if k != 'history'}, **extra)
    emit({'final': {'out': args.out, 'version': version, 'temperature': temperature, **{k: v for k, v in record.items() if k != 'history'}}})


if __name__ == '__main__':
    main()
