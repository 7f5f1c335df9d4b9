"""Exports a trained checkpoint to an Operon model folder:

    /usr/bin/python3 models/gpt/export.py --domain loan [--checkpoint PATH] [--out models/loan]

- model.onnx (opset 14; inputs input_ids, attention_mask [batch, sequence] int64; outputs
  logits [batch, vocab] and hidden [batch, d_model] at the scoring position, the last real token);
- tokenizer.json (copied from the tokenizer step);
- weights.pt: the checkpoint's model_config and state_dict (what models/gpt/finetune.py starts from);
- config.json: labels, verbalizers and their token ids, prompt template, max length, calibration
  (temperature scaling or content-free + temperature, whichever gives the lower validation ECE),
  default threshold, validation metrics and the SHA-256 of the training data.
"""
import argparse, collections, re, unicodedata, datetime, json, math, os, shutil, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Ensemble, EnsembleExportWrapper, ExportWrapper, OptimumStyleWrapper, load_gpt, set_threads  # noqa: E402
from train import label_logits  # noqa: E402
from lineage import pretraining_record, sha256, shipped_config, training_record  # noqa: E402



def ece(probs, targets, bins=15):
    conf, pred = probs.max(dim=1)
    correct = (pred == targets).float()
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.float().mean().item() * abs(conf[sel].mean().item() - correct[sel].mean().item())
    return total


def fit_temperature(logits, targets):
    best = (float('inf'), 1.0)
    for i in range(1, 301):
        t = i / 50
        nll = F.cross_entropy(logits / t, targets).item()
        best = min(best, (nll, t))
    return best[1]


def pick_threshold(probs, targets, precision=0.997, floor=80, min_cases=20):
    """The lowest threshold whose automatically decided validation cases reach `precision`."""
    conf, pred = probs.max(dim=1)
    for i in range(floor, 100):
        t = i / 100
        sel = conf >= t
        if sel.sum() >= min_cases and (pred[sel] == targets[sel]).float().mean().item() >= precision:
            return t
    return 0.99


def review_threshold(probs, targets, handwritten):
    """The default threshold: the higher of 99.7 % precision on the grammar's validation cases and
    99 % on the hand-written ones (sentences from the dev fold, never trained on), so the threshold
    is set by how the model does on everyday wording, not only on its own generator's."""
    grammar = ~handwritten
    t = pick_threshold(probs[grammar], targets[grammar]) if grammar.any() else 0.8
    if handwritten.sum() >= 50:
        t = max(t, pick_threshold(probs[handwritten], targets[handwritten], precision=0.99, floor=50))
    return t


HANDWRITTEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'handwritten')


def other_language_texts(domain):
    """The hand-written training texts written in another language on purpose (style other-language).
    The model learns from them, but their words stay out of the lexicon: text in another language
    must go to a person whatever the model answers."""
    path = os.path.join(HANDWRITTEN, f'{domain}.jsonl')
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r['text'] for r in rows if r.get('style') == 'other-language'}


def write_lexicon(train_file, text_variables, out_file, skip_texts=frozenset()):
    """Every word form of the training texts, one per line, but those of `skip_texts` (the texts in
    other languages): the runtime sends text with too many words outside it to review
    (nodes/decision/familiarity.ts splits words the same way). A word of a skipped text counts only
    when at least two other texts use it: one generated typo ("fur" for "for") would otherwise let
    "Kredit für ein neues Auto" pass as English."""
    counts = collections.Counter()
    skipped = set()
    with open(train_file) as f:
        for line in f:
            row = json.loads(line)
            for name in text_variables:
                value = str(row['vars'].get(name, ''))
                text = unicodedata.normalize('NFKD', value.lower())
                text = ''.join(c for c in text if not unicodedata.combining(c))
                forms = {w for w in re.findall(r"[a-z]+(?:'[a-z]+)*", text) if len(w) >= 2}
                if value in skip_texts:
                    skipped |= forms
                else:
                    counts.update(forms)
    words = {w for w, n in counts.items() if n >= 2 or w not in skipped}
    with open(out_file, 'w') as f:
        f.write('\n'.join(sorted(words)) + '\n')
    return len(words)


def export_operon_onnx(model, ids, mask, path):
    """The Operon graph (ExportWrapper, or EnsembleExportWrapper for an Ensemble) at opset 14 with
    dynamic batch and sequence axes; finetune.py exports through the same function, so a fine-tuned
    folder has the same inputs and outputs."""
    wrapper = EnsembleExportWrapper(model) if isinstance(model, Ensemble) else ExportWrapper(model)
    torch.onnx.export(
        wrapper, (ids, mask), path, opset_version=14,
        input_names=['input_ids', 'attention_mask'], output_names=['logits', 'hidden'],
        dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch'}, 'hidden': {0: 'batch'}},
    )


def save_weights(model, path, **extra):
    """weights.pt: the architecture and the weights alone (no optimizer state, no training data), a
    few MB, so the folder can be fine-tuned later (finetune.py) without the training checkpoint."""
    torch.save({'model_config': model.config, 'state_dict': model.state_dict(), **extra}, path)


def _member_of(shipped, index):
    """Member `index` of a shipped ensemble's config.json record, or None."""
    members = (shipped.get('ensemble') or {}).get('members') or []
    return members[index] if index < len(members) else None


def continued_members(checkpoint_path):
    """The other members continue.py trained beside `checkpoint_path` (its members.json), when that
    file names this very checkpoint as the first; else none."""
    listing = os.path.join(os.path.dirname(os.path.abspath(checkpoint_path)), 'members.json')
    if not os.path.exists(listing):
        return []
    with open(listing) as f:
        members = json.load(f)
    if members.get('first', {}).get('sha256') != sha256(checkpoint_path):
        return []
    return [os.path.join(os.path.dirname(listing), name) for name in members.get('members', [])]


def load_members(args, checkpoint, checkpoint_path, first):
    """The other members of an ensemble: the checkpoints given with --member, else those continue.py
    trained beside the checkpoint (members.json), else those a shipped ensemble folder's weights.pt
    holds (their runs are in the config.json beside it). Each is (model, training record, training
    data SHA-256); every member has the first one's shape."""
    shipped = shipped_config(checkpoint, checkpoint_path) or {}
    found = [(path, torch.load(path), None) for path in args.member or continued_members(checkpoint_path)]
    if not found:
        records = [m.get('training') for m in (shipped.get('ensemble') or {}).get('members', [])[1:]]
        found = [(f'{checkpoint_path} member {i + 2}', m, records[i] if i < len(records) else None)
                 for i, m in enumerate(checkpoint.get('members') or [])]
    members = []
    for path, ck, record in found:
        model = load_gpt(ck)
        model.eval()
        if model.config != first.config:
            raise SystemExit(f'{path} has another shape ({model.config}) than the first member ({first.config}): members share shape and tokenizer')
        # A member trained here was trained on WORK's data; one from a shipped ensemble keeps its record.
        data = shipped_member.get('trainingDataSha256') if (shipped_member := _member_of(shipped, len(members) + 1)) else None
        if record is None and os.path.exists(os.path.join(args.work, args.domain, 'train.jsonl')):
            data = sha256(os.path.join(args.work, args.domain, 'train.jsonl'))
        members.append((model, record or training_record(ck, path), data))
    return members


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--work', default='models/.work')
    p.add_argument('--domain', required=True)
    p.add_argument('--checkpoint')
    p.add_argument('--out')
    p.add_argument('--spec', help='domain spec JSON (labels, verbalizers, template ...), default WORK/DOMAIN/spec.json')
    p.add_argument('--version', default=None)
    p.add_argument('--member', action='append', default=[],
                   help='another checkpoint of the same shape and tokenizer (repeatable): the folder answers with the mean of the members\' calibrated probabilities; '
                        'default: the members continue.py listed in members.json beside the checkpoint, else those of a shipped folder\'s weights.pt')
    p.add_argument('--layout', choices=['operon', 'optimum'], default='operon',
                   help='optimum: a HuggingFace-Optimum-style graph (logits for every position, position_ids input) with operon.json')
    args = p.parse_args(argv)
    set_threads(2)
    work = os.path.join(args.work, args.domain)
    out = args.out or os.path.join('models', args.domain)
    os.makedirs(out, exist_ok=True)
    checkpoint_path = args.checkpoint or os.path.join(work, 'checkpoints', 'model.pt')
    checkpoint = torch.load(checkpoint_path)
    training = training_record(checkpoint, checkpoint_path)
    if training is None:
        raise SystemExit(f'{checkpoint_path} does not say how it was trained: no train_config in it and no model folder config.json beside it')
    # A shipped folder's weights.pt (weights alone): what it was trained on is in its config.json.
    shipped = shipped_config(checkpoint, checkpoint_path)
    model = load_gpt(checkpoint)
    model.eval()
    with open(os.path.join(work, 'tokens.json')) as f:
        tokens = json.load(f)
    with open(args.spec or os.path.join(work, 'spec.json')) as f:
        spec = json.load(f)
    with open(os.path.join(work, 'val.ids.json')) as f:
        val = json.load(f)
    verbalizers, max_len = tokens['verbalizerIds'], model.config['max_len']
    targets = torch.tensor([r['policy'] for r in val])
    first = model

    # An ensemble: each member calibrated on the validation split by its own temperature, then averaged.
    members = load_members(args, checkpoint, checkpoint_path, model)
    every = [first, *(m for m, _, _ in members)]
    if members and args.layout == 'optimum':
        raise SystemExit('an ensemble exports in the operon layout only')
    if members:
        member_temperatures = [fit_temperature(label_logits(m, val, verbalizers, tokens['padId'], max_len), targets) for m in every]
        model = Ensemble(every, member_temperatures, verbalizers).eval()

    # Calibration on the validation split.
    logits = label_logits(model, val, verbalizers, tokens['padId'], max_len)
    cf_rows = [{'ids': ids, 'label': 0} for ids in tokens['contentFreeIds']]
    cf = F.log_softmax(label_logits(model, cf_rows, verbalizers, tokens['padId'], max_len), dim=1).mean(dim=0)
    candidates = {}
    for method, z in (('none', logits), ('temperature', logits), ('content-free', logits - cf)):
        t = 1.0 if method == 'none' else fit_temperature(z, targets)
        probs = F.softmax(z / t, dim=1)
        candidates[method] = {
            'temperature': t,
            'ece': ece(probs, targets),
            'accuracy': (probs.argmax(1) == targets).float().mean().item(),
            'probs': probs,
        }
    raw_probs = F.softmax(logits, dim=1)
    best_acc = max(c['accuracy'] for c in candidates.values())
    method = min((m for m, c in candidates.items() if c['accuracy'] >= best_acc - 0.005), key=lambda m: candidates[m]['ece'])
    chosen = candidates[method]
    handwritten = torch.tensor([bool(r.get('handwritten')) for r in val])
    threshold = review_threshold(chosen['probs'], targets, handwritten)

    # ONNX export with dynamic batch and sequence axes.
    onnx_path = os.path.join(out, 'model.onnx')
    ids = torch.tensor([val[0]['ids'], val[1]['ids'][:len(val[0]['ids'])] + [0] * max(0, len(val[0]['ids']) - len(val[1]['ids']))])
    mask = (ids != tokens['padId']).long()
    if args.layout == 'optimum':
        positions = torch.arange(ids.shape[1]).unsqueeze(0).expand(ids.shape[0], -1).contiguous()
        torch.onnx.export(
            OptimumStyleWrapper(model), (ids, mask, positions), onnx_path, opset_version=14,
            input_names=['input_ids', 'attention_mask', 'position_ids'], output_names=['logits'],
            dynamic_axes={n: {0: 'batch_size', 1: 'sequence_length'} for n in ('input_ids', 'attention_mask', 'position_ids', 'logits')},
        )
    else:
        export_operon_onnx(model, ids, mask, onnx_path)
        extra = {'members': [{'model_config': m.config, 'state_dict': m.state_dict()} for m, _, _ in members]} if members else {}
        save_weights(first, os.path.join(out, 'weights.pt'), **extra)
    shutil.copyfile(os.path.join(work, 'tokenizer.json'), os.path.join(out, 'tokenizer.json'))
    train_file = os.path.join(work, 'train.jsonl')
    lexicon_words = write_lexicon(train_file, spec['textVariables'], os.path.join(out, 'lexicon.txt'), other_language_texts(args.domain)) if os.path.exists(train_file) else 0
    config = {
        'name': args.domain,
        'version': args.version or datetime.datetime.utcnow().strftime('%Y%m%d.%H%M'),
        'format': 'operon-gpt',
        'labels': spec['labels'],
        'verbalizers': spec['verbalizers'],
        'verbalizerIds': verbalizers,
        'template': spec['template'],
        # Declared input fields (types, ranges, enums, the range seen in training): nodes/decision/inputs.ts.
        **({'inputs': spec['inputs']} if spec.get('inputs') else {}),
        # Words that send an automated answer to review (nodes/decision/screen.ts).
        **({'screen': spec['screen']} if spec.get('screen') else {}),
        # Words of text that tells the model what to answer: such an automated answer goes to review (screen.ts).
        **({'instructions': spec['instructions']} if spec.get('instructions') else {}),
        # FEEL conditions an automated answer needs (nodes/decision/requires.ts).
        **({'requires': spec['requires']} if spec.get('requires') else {}),
        # Thresholds of the written policy and the value each is treated as (nodes/decision/edges.ts).
        **({'edges': spec['edges']} if spec.get('edges') else {}),
        # Reference readings under which the policy grounds an answer below the threshold (nodes/decision/grounding.ts).
        **({'grounding': spec['grounding']} if spec.get('grounding') else {}),
        # The texts' language: free text in another goes to review (nodes/decision/language.ts).
        **({'language': spec['language']} if spec.get('language') else {}),
        'textVariables': spec['textVariables'],
        'maxTextChars': spec.get('maxTextChars', 400),
        'maxLength': max_len,
        'threshold': threshold,
        # Free text with 2 or more words outside lexicon.txt, a fifth of its words or more, goes to review.
        **({'familiarity': {'minWords': 2, 'minShare': 0.2}, 'lexiconWords': lexicon_words} if lexicon_words else {}),
        'padId': tokens['padId'],
        'outputs': {'logits': 'logits', 'hidden': 'hidden'},
        'calibration': {
            'method': method,
            'temperature': chosen['temperature'],
            'contentFreeLogits': [round(x, 6) for x in cf.tolist()] if method == 'content-free' else None,
        },
        'metrics': {
            'validation': {
                'accuracy': round(chosen['accuracy'], 4),
                'eceUncalibrated': round(ece(raw_probs, targets), 4),
                'eceTemperature': round(candidates['temperature']['ece'], 4),
                'eceContentFree': round(candidates['content-free']['ece'], 4),
                'ece': round(chosen['ece'], 4),
                'cases': len(val),
            },
        },
        'architecture': checkpoint['model_config'],
        'parameters': sum(p.numel() for p in model.parameters()),
        'training': training,
        # The members of an ensemble (model.Ensemble): the first is `training` above.
        **({'ensemble': {
            'combine': 'mean of the members\' label probabilities, each calibrated by its own temperature',
            'members': [{'temperature': t, 'parameters': sum(p.numel() for p in m.parameters()), 'training': r,
                         **({'trainingDataSha256': d} if d else {})}
                        for t, m, (_, r, d) in zip(member_temperatures, every, [(first, training, None), *members])],
        }} if members else {}),
        'pretraining': pretraining_record(checkpoint, checkpoint_path),
        'trainingDataSha256': shipped.get('trainingDataSha256') if shipped
        else sha256(train_file) if os.path.exists(train_file) else None,
    }
    if args.layout == 'optimum':
        # As in an Optimum folder: config.json is the HuggingFace one, Operon's settings go to operon.json.
        config['format'] = 'hf-causal-lm'
        for key in ('verbalizerIds', 'outputs', 'calibration'):
            config.pop(key)
        with open(os.path.join(out, 'config.json'), 'w') as f:
            json.dump({'model_type': 'gpt2', 'vocab_size': model.config['vocab_size'], 'n_positions': max_len}, f, indent=2)
        with open(os.path.join(out, 'operon.json'), 'w') as f:
            json.dump(config, f, indent=2)
    else:
        with open(os.path.join(out, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2)
    print(json.dumps({'exported': out, 'calibration': method, 'temperature': chosen['temperature'], 'threshold': threshold, 'validation': config['metrics']['validation']}))


if __name__ == '__main__':
    main()
