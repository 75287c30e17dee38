"""QC models: the violation text classifier, customer emotion / complaint intent, agent agitation.

text.py (classifiers) · acoustic.py (agitation, customer cues) · training.py (corpus, training, holdout metrics)
· scorer.py (ModelScorer, used by scoring). No I/O here: callqc/model_registry.py stores artefacts in object
storage and versions in the database, promotes, trains from reviewer decisions and loads the promoted models.
Seed corpus: data/, written by scripts/make_seed_corpus.py.
"""
