"""Operations: what the people running ansinh see of it. Metrics for Prometheus (:mod:`ansinh.ops.metrics`), the
readiness checks of ``/ready`` (:mod:`ansinh.ops.readiness`) and the logs, as text or JSON lines
(:mod:`ansinh.ops.logging`)."""
