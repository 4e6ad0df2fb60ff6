"""Widgets: the live views of a machine (graph, tasks, console), together in a Dashboard.

One concept a file: graph_view, task_table, console, dashboard, progress.
"""

from .console import ConsoleView
from .dashboard import Dashboard
from .graph_view import GraphView
from .progress import BuildProgress
from .task_table import TaskTable

__all__ = ["BuildProgress", "ConsoleView", "Dashboard", "GraphView", "TaskTable"]
