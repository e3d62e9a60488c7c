"""The file ``spark-submit`` runs: privguard's command line inside a Spark driver.

``spark-submit --master URL .../privguard/cli/spark_entry.py audit DUMP --out OUT
--engine spark`` (see docs/spark.md; ``engines.spark_options.submit_command`` builds it).
"""

from __future__ import annotations

if __name__ == "__main__":
    from privguard.cli import main

    main()
