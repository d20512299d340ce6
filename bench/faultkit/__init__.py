"""The parts of the fault suite (`python -m bench.faults`): the stack it starts, the outbound recorder,
the channels as the platforms speak them, the hostile corpus, the repeated deliveries, the load with
crashes, and the counts read back from the store."""
