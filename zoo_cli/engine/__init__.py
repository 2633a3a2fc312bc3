"""Local fine-tuning engine (torch side; never imports web3).

Modules, all importing torch/transformers/peft lazily inside functions:
``schemas``/``data``/``synth`` (interactions, validation, Merkle commitment),
``base`` (zoo-tiny and local HF bases), ``train`` (LoRA on packed sequences),
``evaluate``, ``merge``, ``infer`` (ask, ensembles, ZIP-6 helpers), ``export``,
``bitdelta``. Adapters cross the layer boundary as ``dict[str, bytes]`` of PEFT files.
"""
