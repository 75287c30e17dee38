"""QC models: the violation text classifier, customer emotion / complaint intent, agent agitation.

text.py (classifiers) · acoustic.py (agitation, customer cues) · training.py (corpus, training, holdout metrics,
reviewer labels) · registry.py (artefacts in object storage, versions in the database, promotion) ·
scorer.py (ModelScorer and load_promoted_scorer, used by scoring). Seed corpus: data/, written by
scripts/make_seed_corpus.py.
"""
