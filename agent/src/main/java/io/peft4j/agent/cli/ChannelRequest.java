package io.peft4j.agent.cli;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One operation sent through the attach channel, as the agent argument of {@code VirtualMachine.loadAgent}:
 * {@code peft4j-operation:v1;op=NAME;arg=VALUE;...;reply=FILE}, each value URL-encoded (so {@code ;} and {@code ,}
 * inside arguments are safe). The prefix can never be agent options ({@code key=value,...}), so {@code agentmain}
 * tells the two apart without parsing options.
 *
 * @param operation the operation's command-line name ({@link JmxOperation#cliName()})
 * @param args its arguments
 * @param reply the file the agent writes the reply to (inside the command's owner-only directory)
 */
record ChannelRequest(String operation, List<String> args, Path reply) {

    /** What every request starts with. */
    static final String PREFIX = "peft4j-operation:v1;";

    /** Whether the agent argument {@code agentArgs} is a request (not agent options). */
    static boolean isRequest(String agentArgs) {
        return agentArgs != null && agentArgs.startsWith(PREFIX);
    }

    /** The agent argument. */
    String encode() {
        StringBuilder sb = new StringBuilder(PREFIX).append("op=").append(enc(operation));
        for (String a : args) {
            sb.append(";arg=").append(enc(a));
        }
        return sb.append(";reply=").append(enc(reply.toString())).toString();
    }

    /**
     * Reads an agent argument written by {@link #encode()}.
     *
     * @throws IllegalArgumentException when it is not one (names what is wrong)
     */
    static ChannelRequest decode(String agentArgs) {
        if (!isRequest(agentArgs)) {
            throw new IllegalArgumentException("not a peft4j operation request");
        }
        String op = null;
        Path reply = null;
        List<String> args = new ArrayList<>();
        for (String part : agentArgs.substring(PREFIX.length()).split(";", -1)) {
            int eq = part.indexOf('=');
            String key = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            switch (key) {
                case "op":
                    op = value;
                    break;
                case "arg":
                    args.add(value);
                    break;
                case "reply":
                    reply = Path.of(value);
                    break;
                default:
                    throw new IllegalArgumentException("unknown field '" + key + "' in a peft4j operation request");
            }
        }
        if (op == null || reply == null || !reply.isAbsolute()) {
            throw new IllegalArgumentException("a peft4j operation request needs op= and an absolute reply=");
        }
        return new ChannelRequest(op, List.copyOf(args), reply);
    }

    private static String enc(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }
}
