#!/usr/bin/env python3
"""Calling Passerelle from Python: health, reflection and RecommendPathways.

Stubs are generated from the repository's proto/ at run time into a temporary directory
(grpcio-tools), nothing generated is committed. Requirements: tests/python/requirements.txt.

    python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt
    .venv/bin/python tests/python/client.py --addr 127.0.0.1:50051

Without --check it prints the answer for a fibre splicer (ROME I1315). With --check it
asserts values worked out from the ROME 4.0 v460 data (used by the Rust test
tests/python_interop.rs) and exits non-zero on the first mismatch.
"""

import argparse
import importlib
import pathlib
import sys
import tempfile

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2

REPO = pathlib.Path(__file__).resolve().parents[2]


def generate_stubs(proto_dir: pathlib.Path, out_dir: pathlib.Path):
    """Compiles every proto/passerelle/v1/*.proto (pathways.proto imports some of them) with
    grpcio-tools; returns the pathways (pb2, pb2_grpc) modules."""
    from grpc_tools import protoc
    import grpc_tools

    well_known = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    code = protoc.main([
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sorted(str(p) for p in (proto_dir / "passerelle" / "v1").glob("*.proto")),
    ])
    if code != 0:
        raise SystemExit(f"protoc failed on {proto_dir} (exit {code})")
    sys.path.insert(0, str(out_dir))
    return (importlib.import_module("passerelle.v1.pathways_pb2"),
            importlib.import_module("passerelle.v1.pathways_pb2_grpc"))


def check(condition: bool, what: str):
    if not condition:
        raise SystemExit(f"interop check failed: {what}")
    print(f"ok: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:50051", help="host:port of the server")
    parser.add_argument("--proto-dir", default=str(REPO / "proto"), type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="assert known values (tests)")
    parser.add_argument("--checksum", default="", help="expected model checksum (with --check)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="passerelle-stubs-") as tmp:
        pb, pb_grpc = generate_stubs(args.proto_dir, pathlib.Path(tmp))
        with grpc.insecure_channel(args.addr) as channel:
            run(channel, pb, pb_grpc, args)


def run(channel, pb, pb_grpc, args) -> None:
    # 1. Health: the server as a whole and the pathway service.
    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", "passerelle.v1.PathwayService"]:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        if args.check:
            check(status == health_pb2.HealthCheckResponse.SERVING, f"health `{service}` is SERVING")
        else:
            print(f"health `{service}`: {health_pb2.HealthCheckResponse.ServingStatus.Name(status)}")

    # 2. Reflection: list the services (v1alpha, which every grpcio-reflection release has).
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                              timeout=10)
    services = sorted(s.name for a in answers for s in a.list_services_response.service)
    if args.check:
        for name in ["grpc.health.v1.Health", "passerelle.v1.PathwayService"]:
            check(name in services, f"reflection lists {name}")
    else:
        print("services:", ", ".join(services))

    # 3. RecommendPathways for a fibre splicer (ROME I1315) into digital-infrastructure jobs.
    stub = pb_grpc.PathwayServiceStub(channel)
    request = pb.RecommendPathwaysRequest(
        profile=pb.Profile(occupation_code="I1315"),
        top_k=5,
        target_set=pb.TARGET_SET_DIGITAL_INFRASTRUCTURE,
    )
    response, call = stub.RecommendPathways.with_call(request, timeout=10,
                                                      metadata=[("x-request-id", "python-interop-1")])
    if not args.check:
        for p in response.pathways:
            print(f"{p.occupation.code} {p.occupation.label}: probability {p.probability:.2f}, "
                  f"core coverage {p.core_coverage:.2f}, curated_order {p.curated_order}, "
                  f"missing core skills {len(p.missing_core_skills)}")
        print(response.info.data_source)
        return
    check(dict(call.initial_metadata()).get("x-request-id") == "python-interop-1", "request id echoed")
    check(response.anchor_occupation.code == "I1315", "anchor is I1315")
    check(response.anchor_occupation.label == "Monteur raccordeur / Monteuse raccordeuse fibre optique",
          "anchor label from ROME v460")
    check(response.target_set == "DIGITAL_INFRASTRUCTURE", "target set echoed")
    check(len(response.pathways) == 5, "five pathways")
    # France Travail's curated mobilities for I1315 (unix_rubrique_mobilite, numero_ordre 1
    # and 2) come first: I1311 then I1307.
    codes = [p.occupation.code for p in response.pathways]
    check(codes[:2] == ["I1311", "I1307"], f"curated mobilities first: {codes}")
    check([p.curated_order for p in response.pathways[:2]] == [1, 2], "curated_order 1 and 2")
    check(all(0.0 <= p.probability <= 1.0 for p in response.pathways), "probabilities in [0, 1]")
    check(all(0.0 <= p.core_coverage <= 1.0 for p in response.pathways), "core coverage in [0, 1]")
    check(all(s.core for p in response.pathways for s in p.missing_core_skills), "missing core skills are core")
    check(response.info.data_source.startswith("Source : France Travail"), "data source attributed")
    if args.checksum:
        check(response.info.model_checksum == args.checksum, "model checksum")

    # 4. A bad request: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
    bad = pb.RecommendPathwaysRequest(profile=pb.Profile(occupation_code="Z9999"))
    try:
        stub.RecommendPathways(bad, timeout=10)
        check(False, "unknown ROME code refused")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.INVALID_ARGUMENT, "unknown ROME code is INVALID_ARGUMENT")
        status = rpc_status.from_call(err)
        check(status is not None, "status details present")
        violations = []
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations += [v.field for v in bad_request.field_violations]
        check(violations == ["profile.occupation_code"], f"field violation names the field: {violations}")
    print("python interop: all checks passed")


if __name__ == "__main__":
    main()
