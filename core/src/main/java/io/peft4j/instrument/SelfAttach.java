package io.peft4j.instrument;

import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import net.bytebuddy.agent.ByteBuddyAgent;
import net.bytebuddy.agent.VirtualMachine;

/**
 * The Java API's attach to its own JVM (HotSpot on Linux or macOS, through JNA, which DJL brings): Byte Buddy's
 * emulated attach protocol, polling for the JVM's attach socket every 2 ms instead of Byte Buddy's 100 ms.
 *
 * <p>The protocol: create {@code .attach_pid<pid>}, send the JVM {@code SIGQUIT}, wait for the attach listener's
 * socket {@code .java_pid<pid>}, then ask it to load the agent. The listener is up within a few milliseconds, but Byte
 * Buddy's {@code ForEmulatedAttachment} sleeps 100 ms before it first looks: 100 ms of every Java API start (measured:
 * the attach took 140 ms, 102 of them in that sleep). This class is Byte Buddy's own {@code ForHotSpot} with a
 * shorter pause and the same patience (2 s in all).
 *
 * <p>Public only because Byte Buddy calls {@link #attach}, {@link #loadAgent} and {@link #detach} by reflection (it
 * treats any class with these methods as a virtual machine); not an API.
 */
public final class SelfAttach {

    private static final int ATTEMPTS = 1000;
    private static final long PAUSE_MILLIS = 2;

    private final VirtualMachine machine;

    private SelfAttach(VirtualMachine machine) {
        this.machine = machine;
    }

    /**
     * The attachment provider for {@link ByteBuddyAgent#install(ByteBuddyAgent.AttachmentProvider)}: this class on
     * HotSpot JVMs on Linux and macOS with JNA, otherwise Byte Buddy's emulated attachment.
     */
    static ByteBuddyAgent.AttachmentProvider provider() {
        return () -> usable() ? new Direct()
                : ByteBuddyAgent.AttachmentProvider.ForEmulatedAttachment.INSTANCE.attempt();
    }

    /** Byte Buddy attaches in this process with {@link SelfAttach} as its virtual machine type. */
    private static final class Direct implements ByteBuddyAgent.AttachmentProvider.Accessor {

        @Override
        public boolean isAvailable() {
            return true;
        }

        @Override
        public boolean isExternalAttachmentRequired() {
            return false;
        }

        @Override
        public Class<?> getVirtualMachineType() {
            return SelfAttach.class;
        }

        @Override
        public ExternalAttachment getExternalAttachment() {
            throw new IllegalStateException("attaches in this process");
        }
    }

    /** HotSpot (not OpenJ9) on Linux or macOS, with JNA visible. */
    static boolean usable() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String vm = System.getProperty("java.vm.name", "").toUpperCase(Locale.ROOT);
        if (!(os.startsWith("linux") || os.startsWith("mac")) || vm.contains("J9")) {
            return false;
        }
        try {
            Class.forName("com.sun.jna.Platform", false, SelfAttach.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /**
     * Attaches to the JVM with id {@code processId} (this one).
     *
     * @throws IOException when the JVM's attach listener does not answer within 2 s
     */
    public static SelfAttach attach(String processId) throws IOException {
        return new SelfAttach(VirtualMachine.ForHotSpot.attach(processId,
                VirtualMachine.ForHotSpot.Connection.ForJnaPosixSocket.Factory.withDefaultTemporaryFolder(ATTEMPTS,
                        PAUSE_MILLIS, TimeUnit.MILLISECONDS)));
    }

    /** Loads the Java agent in {@code jarFile} with {@code argument} (may be null). */
    public void loadAgent(String jarFile, String argument) throws IOException {
        machine.loadAgent(jarFile, argument);
    }

    /** Loads the native agent at {@code path} with {@code argument} (may be null). */
    public void loadAgentPath(String path, String argument) throws IOException {
        machine.loadAgentPath(path, argument);
    }

    /** Closes the connection. */
    public void detach() throws IOException {
        machine.detach();
    }
}
