from botorch_nap.benchmark.loop import LoopResult, initial_design, run_loop

__all__ = ["LoopResult", "initial_design", "run_loop"]
