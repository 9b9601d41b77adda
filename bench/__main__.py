"""``python -m bench``: runs every benchmark and prints its figures as JSON (copy them into BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import platform
import sys

from bench import (
    all_rules_bench,
    benefits_bench,
    billing_bench,
    cards_bench,
    claims_appraisal_bench,
    claims_appraisal_db_bench,
    claims_fhir_bench,
    claims_intake_bench,
    claims_monitoring_bench,
    claims_settlement_bench,
    import_bench,
    lists_bench,
    lookup_cpu_bench,
    national_bench,
    partitions_bench,
    payments_bench,
    payroll_bench,
    routing_bench,
    rules_bench,
    stall_bench,
    summary_bench,
    targets_bench,
)


def main() -> None:
    selected = set(sys.argv[1:])
    report = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform()}}
    for name, module in (("rules", rules_bench), ("all_rules", all_rules_bench), ("import", import_bench),
                         ("summary", summary_bench), ("billing", billing_bench), ("payments", payments_bench),
                         ("cards", cards_bench), ("lookup_cpu", lookup_cpu_bench),
                         ("routing", routing_bench), ("stall", stall_bench),
                         ("lists", lists_bench), ("claims_appraisal", claims_appraisal_bench),
                         ("claims_appraisal_db", claims_appraisal_db_bench),
                         ("claims_intake", claims_intake_bench), ("claims_settlement", claims_settlement_bench),
                         ("claims_monitoring", claims_monitoring_bench), ("claims_fhir", claims_fhir_bench),
                         ("targets", targets_bench), ("benefits_eligibility", benefits_bench),
                         ("payroll", payroll_bench), ("partitions", partitions_bench),
                         ("national", national_bench)):
        if not selected or name in selected:
            report[name] = module.run()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
