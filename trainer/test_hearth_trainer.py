"""Unit tests of trainer/hearth-trainer's Progress (how TRL's console output becomes reports).

    python3 -m unittest discover -s trainer -p 'test_*.py'

(test/unit/trainer-shim.test.ts runs them in the unit project.) No network, no sleeps: the API is a
recorder, the output directory a temp directory the test fills as the Trainer would.
"""
import importlib.machinery
import importlib.util
import json
import os
import tempfile
import unittest

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hearth-trainer")
_loader = importlib.machinery.SourceFileLoader("hearth_trainer", _PATH)
_spec = importlib.util.spec_from_loader("hearth_trainer", _loader)
shim = importlib.util.module_from_spec(_spec)
_loader.exec_module(shim)


class RecordingApi:
    def __init__(self):
        self.reports = []
        self.files = []

    def report(self, r):
        self.reports.append(dict(r))

    def put_file(self, where, path):
        self.files.append(f"{where}/{os.path.basename(path)}")


class TrainerOutput:
    """What the TRL stand-in (and Hugging Face's Trainer) prints and writes, step by step."""

    def __init__(self, out, total):
        self.out = out
        self.total = total

    def bar(self, step):
        return f" {int(100 * step / self.total)}%|##  | {step}/{self.total} [00:01<00:01,  9.87it/s]"

    def loss(self, step):
        return str({"loss": f"{2.0 / (1 + 0.3 * step):.4g}", "grad_norm": "0.5", "num_tokens": f"{step * 64}", "epoch": "0.5"})

    def evaluation(self, step):
        return ["  0%|          | 0/1 [00:00<?, ?it/s]", "100%|##########| 1/1 [00:00<00:00, 40.0it/s]", str({"eval_loss": f"{2.2 / (1 + 0.25 * step):.4g}", "eval_runtime": "0.1", "epoch": "0.5"})]

    def save(self, step):
        d = os.path.join(self.out, f"checkpoint-{step}")
        os.makedirs(d)
        with open(os.path.join(d, "adapter_model.safetensors"), "wb") as f:
            f.write(b"w")
        with open(os.path.join(d, "trainer_state.json"), "w") as f:
            json.dump({"global_step": step, "max_steps": self.total}, f)


class ProgressTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.api = RecordingApi()
        self.progress = shim.Progress(self.api, self.tmp.name, 1)
        self.trainer = TrainerOutput(self.tmp.name, 4)

    def feed(self, lines):
        for line in lines:
            self.progress.line(line)

    def test_shim_reading_behind_the_trainer_reports_each_evaluation_with_its_checkpoint(self):
        # The shim reads the output after the Trainer has gone on (a loaded node): the step-2
        # checkpoint is already on disk when the shim reads the step-2 loss line, before the step-2
        # evaluation line. It used to report the checkpoint at once (without its eval loss) and then
        # the evaluation alone at step 2, which erased the step-2 point of Hearth's loss curve.
        t = self.trainer
        self.feed([t.bar(1), t.loss(1), t.bar(2)])
        t.save(2)  # evaluate, then save, at step 2: all on disk before the shim reads the step-2 log
        self.feed([t.loss(2), *t.evaluation(2), t.bar(3), t.loss(3), t.bar(4), t.loss(4)])
        self.progress.flush_eval()  # at exit
        reports = self.api.reports
        ev = [r for r in reports if "evalLoss" in r]
        self.assertEqual(ev, [{"step": 3, "totalSteps": 4, "checkpoint": "checkpoint-2", "evalLoss": 1.467}])
        self.assertEqual([r["step"] for r in reports if "trainLoss" in r], [1, 2, 3, 4])
        # No report without a training loss at a step whose training log was already reported.
        for i, r in enumerate(reports):
            if "trainLoss" not in r:
                self.assertFalse(any(p["step"] >= r["step"] for p in reports[:i] if "trainLoss" in p), reports)

    def test_shim_reading_far_behind_never_reports_a_step_ahead_of_the_log_line(self):
        # The trainer has finished (every checkpoint on disk) before the shim reads its second step
        # (a loaded node, a slow upload). Reporting those checkpoints at once moved the job's step to
        # 8, and Hearth then dropped every later loss report of steps 2..7 as late: the e2e curve
        # came out [1, 2] of 9 steps.
        t = TrainerOutput(self.tmp.name, 9)
        for step in (2, 4, 6, 8):
            t.save(step)
        lines = [t.bar(0)]
        for step in range(1, 10):
            lines += [t.bar(step), t.loss(step)]
            if step % 2 == 0:
                lines += t.evaluation(step)
        self.feed(lines)
        self.progress.flush_eval()
        steps = [r["step"] for r in self.api.reports]
        self.assertEqual(steps, sorted(steps), self.api.reports)
        self.assertEqual([r["step"] for r in self.api.reports if "trainLoss" in r], list(range(1, 10)))
        self.assertEqual([(r["checkpoint"], r["step"]) for r in self.api.reports if "checkpoint" in r], [("checkpoint-2", 3), ("checkpoint-4", 5), ("checkpoint-6", 7), ("checkpoint-8", 9)])
        self.assertTrue(all("evalLoss" in r for r in self.api.reports if "checkpoint" in r))

    def test_in_step_with_the_trainer_same_reports(self):
        t = self.trainer
        self.feed([t.bar(1), t.loss(1), t.bar(2), t.loss(2), *t.evaluation(2)])
        t.save(2)
        self.feed([t.bar(3), t.loss(3), t.bar(4), t.loss(4)])
        self.progress.flush_eval()
        self.assertEqual([r for r in self.api.reports if "checkpoint" in r], [{"step": 3, "totalSteps": 4, "checkpoint": "checkpoint-2", "evalLoss": 1.467}])
        self.assertIn("checkpoints/checkpoint-2/trainer_state.json", self.api.files)

    def test_checkpoint_of_the_last_step_is_reported_at_exit(self):
        t = self.trainer
        self.feed([t.bar(1), t.loss(1), t.bar(2), t.loss(2), t.bar(3), t.loss(3), t.bar(4)])
        t.save(4)
        self.feed([t.loss(4), str({"train_runtime": "1", "train_loss": "0.9", "epoch": "1"})])
        self.assertEqual([r for r in self.api.reports if "checkpoint" in r], [])
        self.progress.flush_eval()
        self.assertEqual([r for r in self.api.reports if "checkpoint" in r], [{"step": 4, "totalSteps": 4, "checkpoint": "checkpoint-4"}])


if __name__ == "__main__":
    unittest.main()
