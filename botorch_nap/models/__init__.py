from botorch_nap.models.neural_process import NeuralProcessModel

__all__ = ["NeuralProcessModel"]
