"""m2v's own MTEB tasks: the offline suite (``offline``), the PEARL phrase benchmark (``pearl``), tasks
from the user's YAML files (``user``), and the building blocks they share (``common``)."""
