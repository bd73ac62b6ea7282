"""CTIR_DEVICE picks where a worker trains and predicts (modeling.ml.inference.pick_device)."""

import pytest
import torch

from modeling.ml.inference import pick_device


def test_cpu_is_honoured_even_where_a_gpu_is_visible(monkeypatch):
    monkeypatch.setenv("CTIR_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_auto_is_the_default_and_takes_the_gpu_only_when_there_is_one(monkeypatch):
    monkeypatch.delenv("CTIR_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("AUTO").type == expected


def test_an_explicit_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("CTIR_DEVICE", "cuda")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cpu:0", "mps"])
def test_a_misspelt_device_is_refused_with_the_choices(monkeypatch, value):
    monkeypatch.setenv("CTIR_DEVICE", value)
    with pytest.raises(ValueError, match="use auto, cpu, cuda or cuda:N"):
        pick_device()


def test_cuda_without_a_gpu_refuses_instead_of_training_on_the_cpu(monkeypatch):
    if torch.cuda.is_available():
        monkeypatch.setenv("CTIR_DEVICE", "cuda:0")
        assert pick_device() == torch.device("cuda:0")
        return
    monkeypatch.setenv("CTIR_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="sees no CUDA GPU"):
        pick_device()
