package io.peft4j.bench;

/** Paths and JVM options shared by the benchmark forks. All paths are relative to the repository root. */
public final class Setups {

    /** The agent jar the build produces. */
    public static final String AGENT_JAR = "agent/target/peft4j-agent.jar";
    /** LoRA r=8, alpha=16 on the MLP's four Linear layers (0, 2, 4, 6), fresh weights. */
    public static final String LORA_ADAPTER = "benchmarks/adapters/lora-r8";
    /** LoRA that targets only a module named {@code decoy}: nothing in the benchmarked MLP. */
    public static final String UNTARGETED_ADAPTER = "benchmarks/adapters/untargeted";
    /** JVM launcher of the Java-API forks: java with target/peft4j-core-lib/* appended to the class path. */
    public static final String API_JVM = "benchmarks/java-with-peft4j-core.sh";

    /** Options of every fork. Thread counts are not here: BenchRunner prepends them (same on every fork). */
    public static final String OFFLINE = "-Dai.djl.offline=true";
    /** Keeps DJL's and peft4j's INFO and WARN lines (CUDA probing, the agent naming models it leaves alone) out of JMH's output. */
    public static final String QUIET = "-Dorg.slf4j.simpleLogger.defaultLogLevel=error";

    /** {@code -javaagent} with the LoRA adapter. */
    public static final String AGENT_LORA = "-javaagent:" + AGENT_JAR + "=adapter=" + LORA_ADAPTER;
    /** {@code -javaagent} with the LoRA adapter, merged after injection. */
    public static final String AGENT_LORA_MERGED = AGENT_LORA + ",merge=true";
    /** {@code -javaagent} with an adapter that targets nothing in the MLP. */
    public static final String AGENT_UNTARGETED = "-javaagent:" + AGENT_JAR + "=adapter=" + UNTARGETED_ADAPTER;

    /** LoRA rank and alpha of the MLP benchmarks (scaling 2). */
    public static final int RANK = 8;
    /** LoRA alpha of every benchmark. */
    public static final int ALPHA = 16;

    private Setups() {}
}
