"""Training the network: simulator, loss masks, dataset, losses, fine-tuning start, loop, config.

Modules: `simulator` (synthetic LASCO level-0.5 frames), `loss_masks`
(telemetry-loss patterns), `dataset` (crops of the inference windows),
`losses` (one term per file), `finetune` (start from a weights file), `loop`
(the optimiser loop and checkpoints) and `config` (`TrainConfig`).
"""

__all__: list[str] = []
