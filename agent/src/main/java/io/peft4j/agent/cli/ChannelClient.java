package io.peft4j.agent.cli;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.VirtualMachine;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Properties;

/**
 * The command's side of the attach channel: runs one {@link JmxOperation} inside the target JVM with no TCP listener
 * and no JMX connector. It creates a directory only its user can enter (0700), loads the agent jar the target already
 * runs with the operation as the agent argument ({@link ChannelRequest}); the running agent's {@code agentmain}
 * performs it and writes the reply file before {@code loadAgent} returns; the reply is printed here. The target's only
 * listener is the JDK's attach socket, a Unix-domain socket that the JDK creates owner-only at the first attach (as
 * for {@code jcmd}).
 */
final class ChannelClient {

    /**
     * HotSpot refuses attach arguments longer than 1024 bytes; the agent argument travels as
     * {@code JAR=ARGUMENT}.
     */
    private static final int MAX_ARGUMENT = 1024;
    /** The system property in which the running agent publishes its jar. */
    static final String JAR_PROPERTY = "peft4j.internal.jar";

    private ChannelClient() {}

    /**
     * Runs {@code op} in {@code pid} and prints its result.
     *
     * @throws CommandFailure when peft4j does not run there, the channel fails, or the operation failed (its message)
     */
    static void run(long pid, JmxOperation op, List<String> args, PrintStream out) throws CommandFailure {
        VirtualMachine vm = AttachCommand.AttachSupport.attach(pid);
        Path dir = null;
        try {
            Properties props = vm.getSystemProperties();
            if (props.getProperty(AttachCommand.STARTED_PROPERTY) == null) {
                throw JmxCommand.notRunning(pid);
            }
            Path jar = runningJar(props.getProperty(JAR_PROPERTY));
            dir = ownerOnlyDirectory();
            Path reply = dir.resolve("reply");
            String argument = new ChannelRequest(op.cliName(), args, reply).encode();
            if ((jar + "=" + argument).getBytes(StandardCharsets.UTF_8).length > MAX_ARGUMENT) {
                throw new CommandFailure("the arguments of " + op.cliName() + " are too long for the attach channel"
                        + " (at most " + MAX_ARGUMENT + " bytes with the agent jar's path); use jmx --via-jmx");
            }
            try {
                vm.loadAgent(jar.toString(), argument);
            } catch (AgentLoadException | AgentInitializationException e) {
                throw new CommandFailure("pid " + pid + " refused the operation channel (loading " + jar + "): "
                        + e.getMessage() + "; without dynamic agent loading use jmx --via-jmx (it opens the JDK's local"
                        + " connector port)", e);
            }
            if (!Files.isRegularFile(reply)) {
                throw new CommandFailure("pid " + pid + " did not answer " + op.cliName() + " (its peft4j agent may"
                        + " predate the attach channel: use jmx --via-jmx; see its standard error)");
            }
            String text = Files.readString(reply, StandardCharsets.UTF_8);
            int newline = text.indexOf('\n');
            String status = newline < 0 ? text : text.substring(0, newline);
            String body = newline < 0 ? "" : text.substring(newline + 1);
            if (!"0".equals(status)) {
                throw new CommandFailure(body);
            }
            out.print(body);
            out.flush();
        } catch (IOException e) {
            throw new CommandFailure("cannot run " + op.cliName() + " in pid " + pid + ": " + e, e);
        } finally {
            AttachCommand.AttachSupport.detach(vm);
            delete(dir);
        }
    }

    /** The jar the target runs peft4j from when it still exists (no second copy on its class path), else this one. */
    private static Path runningJar(String published) throws CommandFailure {
        if (published != null && !published.isEmpty()) {
            Path jar = Path.of(published);
            if (jar.isAbsolute() && Files.isRegularFile(jar)) {
                return jar;
            }
        }
        return AttachCommand.agentJar();
    }

    private static Path ownerOnlyDirectory() throws IOException {
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            return Files.createTempDirectory("peft4j-op-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return Files.createTempDirectory("peft4j-op-");
    }

    private static void delete(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            Files.deleteIfExists(dir.resolve("reply"));
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a left-over empty directory in the temporary directory: nothing to report
        }
    }
}
