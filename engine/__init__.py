"""hongwu: BPMN workflow engine for party-building-led property management (红色物业)."""

__version__ = "0.1.0"
