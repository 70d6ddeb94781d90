"""One parse measurement, run in a fresh process by bench/parse.py.

Usage: ``python bench/_parse_child.py DAG_FOLDER SERIALIZE(0|1)``. Prints one JSON line.
Airflow itself is imported before the clock starts (every Airflow process has it loaded);
the DAG file's own imports (our package, dag-factory) are part of the parse, as in Airflow.
Serialisation is what the dag processor does after parsing a file
(``airflow/dag_processing/processor.py: _serialize_dags``: ``DagSerialization.to_dict``).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization

folder, serialize = sys.argv[1], sys.argv[2] == "1"
baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started, cpu_started = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=folder)
parsed = time.perf_counter()
done = parsed
if serialize:
    for dag in bag.dags.values():
        DagSerialization.to_dict(dag)
    done = time.perf_counter()
cpu = time.process_time() - cpu_started
print(
    json.dumps(
        {
            "parse_s": parsed - started,
            "serialize_s": done - parsed,
            "total_s": done - started,
            "cpu_s": cpu,  # this process's CPU time: steadier than wall time on a busy machine
            "dags": len(bag.dags),
            "import_errors": len(bag.import_errors),
            "errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
            "baseline_rss_mb": baseline_mb,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
