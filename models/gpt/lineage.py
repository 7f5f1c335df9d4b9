"""Where a checkpoint came from, in the shape config.json and the model card read.

A task checkpoint from train.py carries its own run (train_config, history, world_size, the
checkpoint it started from in `init`, a soup's ingredients in `soup`). A shipped folder's
weights.pt carries weights alone (export.py's save_weights): its run is in the config.json beside
it. One function builds the `training` record for both, so export.py (config.json), train.py
(`continuedFrom` of a continued run) and soup.py (a soup whose last ingredient is a shipped folder)
record the same thing.
"""
import hashlib
import json
import os


def sha256(path):
    """The SHA-256 of a file, hex: how config.json and the model card name checkpoints and data."""
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def folder_config(path):
    """The config.json of the model folder a weights.pt sits in; None for a bare checkpoint."""
    config_file = os.path.join(os.path.dirname(os.path.abspath(path)), 'config.json')
    if not os.path.exists(config_file):
        return None
    with open(config_file) as f:
        return json.load(f)


def shipped_config(checkpoint, path):
    """The config.json of the model folder whose weights.pt `checkpoint` is: None when the checkpoint
    carries its own run (train.py's train_config, or the `training` soup.py copied) or no
    config.json sits beside it."""
    if checkpoint.get('train_config') or checkpoint.get('training'):
        return None
    return folder_config(path)


def training_record(checkpoint, path):
    """`training` of config.json: {config, history, worldSize, continuedFrom?, soup?}; None when
    neither the checkpoint nor a config.json beside it says how it was trained."""
    soup = {'soup': checkpoint['soup']} if checkpoint.get('soup') else {}
    if checkpoint.get('train_config'):
        return {'config': checkpoint['train_config'], 'history': checkpoint.get('history'),
                'worldSize': checkpoint.get('world_size', 1),
                **({'continuedFrom': checkpoint['init']} if checkpoint.get('init') else {}), **soup}
    if checkpoint.get('training'):
        # A soup whose last ingredient was a shipped folder: soup.py copied that folder's record.
        return {**checkpoint['training'], **soup}
    shipped = folder_config(path)
    return shipped.get('training') if shipped else None


def pretraining_record(checkpoint, path):
    """`pretraining` of config.json: the checkpoint's own, or for a shipped folder's weights.pt its
    config.json's."""
    shipped = shipped_config(checkpoint, path)
    return shipped.get('pretraining') if shipped else checkpoint.get('pretraining')


def init_lineage(path, checkpoint, member=1):
    """What a run continued from: the file's SHA-256 and, for a shipped model folder (its weights.pt
    beside config.json), that model's version, training record and training data; for a bare task
    checkpoint, its own training record (which names what it in turn started from). Either way the
    exported config.json keeps the whole lineage, however many runs deep. `member` > 1: the run
    continued that member of a shipped ensemble, whose own record is in config.json `ensemble`."""
    lineage = {'checkpoint': os.path.basename(path), 'sha256': sha256(path), 'kind': checkpoint.get('kind', 'task')}
    shipped = shipped_config(checkpoint, path)
    if shipped and member > 1:
        record = ((shipped.get('ensemble') or {}).get('members') or [])[member - 1:member]
        record = record[0] if record else {}
        lineage.update(version=shipped.get('version'), member=member, training=record.get('training'),
                       trainingDataSha256=record.get('trainingDataSha256'))
    elif shipped:
        lineage.update(version=shipped.get('version'), training=shipped.get('training'), trainingDataSha256=shipped.get('trainingDataSha256'))
    else:
        training = training_record(checkpoint, path)
        if training:
            lineage['training'] = training
    return lineage
