"""A small neural-network library on stepgrad's engine (micrograd-compatible Module, Neuron, Layer, MLP)."""

from .module import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron"]
