from botorch_nap.models.neural_process import NeuralProcessModel, NeuralProcessPosterior

__all__ = ["NeuralProcessModel", "NeuralProcessPosterior"]
