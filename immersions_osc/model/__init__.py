"""The artificial ear: causal encoder + autoregressive model trained with CPC."""
from .cpc import CPCModel, ContrastiveResult, build_model, cpc_loss, sat_loss
from .presets import AR_TABLE, ENCODER_TABLE, PRESETS

__all__ = ["CPCModel", "ContrastiveResult", "build_model", "cpc_loss", "sat_loss",
           "AR_TABLE", "ENCODER_TABLE", "PRESETS"]
