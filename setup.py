"""Packaging for botorch-nap (the product's design card asks for setup.py)."""

from setuptools import find_packages, setup

# setuptools: the wheel test builds the package without build isolation.
TEST = ["pytest>=7", "hypothesis>=6", "ruff>=0.4", "setuptools>=61"]
AX = ["ax-platform>=1.3,<1.4"]
DATA = ["onnxruntime>=1.17"]
PEERS = [
    "optuna>=3.6",
    "smac>=2.2",
]  # other optimisers in the benchmark (botorch_nap.benchmark.peers)

setup(
    name="botorch-nap",
    version="0.1.0",
    description="NAP: meta-learned neural acquisition processes for BoTorch and Ax",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(
        include=["botorch_nap", "botorch_nap.*", "ax_integration", "ax_integration.*"]
    ),
    package_data={
        "botorch_nap.pretrained": ["*/*/*.json", "*/*/*.pt", "*/*.md"],
        "botorch_nap.tasks": ["*.json", "*.md", "eda_pools/*.json", "eda_pools/*.npz"],
    },
    install_requires=[
        # torch is deliberately a wide range: install torch==2.13.0 (CPU wheel) first,
        # as the Makefile does, so that pip never pulls a CUDA build.
        "torch>=2.2",
        "botorch>=0.18,<0.19",
        "gpytorch>=1.15,<1.16",
        "numpy>=1.26,<3",
        "scipy>=1.11",
        "tqdm>=4.60",
        "matplotlib>=3.7",
    ],
    extras_require={
        "test": TEST,
        "ax": AX,
        "data": DATA,
        "peers": PEERS,
        "dev": TEST + AX + DATA + PEERS,
    },
    entry_points={"console_scripts": ["botorch-nap=botorch_nap.cli:main"]},
)
