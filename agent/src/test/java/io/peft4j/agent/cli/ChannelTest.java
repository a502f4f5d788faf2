package io.peft4j.agent.cli;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.peft4j.agent.jmx.AdaptersMXBean;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attach channel in process: a request survives its encoding whatever its arguments hold, and the agent's side
 * answers through the reply file with the status and exactly the text the JMX route prints, running the operation on
 * the MXBean implementation it is given (a stand-in here).
 */
class ChannelTest {

    private static final long PID = ProcessHandle.current().pid();

    @TempDir
    Path dir;

    @Test
    void aRequestSurvivesItsEncoding() {
        List<String> args = List.of("both", "a+b", "0.7,0.3", "ties", "density=0.5;x=1 % é");
        ChannelRequest request = new ChannelRequest("combine", args, dir.resolve("reply"));
        String encoded = request.encode();
        assertAll(() -> assertTrue(ChannelRequest.isRequest(encoded), encoded),
                () -> assertFalse(encoded.contains(","), "no ',' that the agent's option parser would split at"),
                () -> assertEquals(request, ChannelRequest.decode(encoded)),
                () -> assertFalse(ChannelRequest.isRequest("adapter=/models/lora,onError=warn")),
                () -> assertFalse(ChannelRequest.isRequest(null)));
        IllegalArgumentException relative = assertThrows(IllegalArgumentException.class,
                () -> ChannelRequest.decode(ChannelRequest.PREFIX + "op=list;reply=reply"));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> ChannelRequest.decode(ChannelRequest.PREFIX + "op=list;evil=1;reply=/tmp/r"));
        assertAll(() -> assertTrue(relative.getMessage().contains("absolute reply="), relative.getMessage()),
                () -> assertTrue(unknown.getMessage().contains("'evil'"), unknown.getMessage()));
    }

    @Test
    void theReplyHoldsWhatTheJmxRoutePrints() throws IOException {
        AdaptersMXBean bean = stub();
        assertEquals(String.join("\n", "0", "pid " + PID + ": models",
                "  Mlp#1 (io.peft4j.testmodels.Mlp): adapters []", "", "(no module carries an adapter)", "",
                "(no adapters)", "",
                "intercepted forwards: 7, suppressed errors: 0, transform errors: 0",
                "adapterRoot: /models, dumpDir: (unset: dump disabled)", ""), serve(bean, "list"));
        assertEquals("0\nactivated a+b\n", serve(bean, "activate", "a+b"));
        assertEquals("1\nactivate nosuch failed in pid " + PID + ": no adapter 'nosuch'", serve(bean, "activate",
                "nosuch"));
        assertEquals("0\ncombined x from a+b with 1,1 type=\n", serve(bean, "combine", "x", "a+b", "1,1"));
    }

    @Test
    void refusalsAreRepliesToo() throws IOException {
        assertEquals("1\npeft4j is not running in pid " + PID + " (agent disabled)", serve(null, "list"));
        assertEquals("1\noperation load takes one argument (NAME)", serve(stub(), "load"));
        assertTrue(serve(stub(), "explode").startsWith("1\nunknown operation 'explode'"));
    }

    @Test
    void anExistingReplyFileIsNeverOverwritten() throws IOException {
        Path reply = Files.writeString(dir.resolve("reply"), "planted");
        ChannelServer.serve(new ChannelRequest("list", List.of(), reply).encode(), stub(), "");
        assertEquals("planted", Files.readString(reply));
    }

    private String serve(AdaptersMXBean bean, String op, String... args) throws IOException {
        Path reply = dir.resolve("reply-" + System.nanoTime());
        ChannelServer.serve(new ChannelRequest(op, List.of(args), reply).encode(), bean, "agent disabled");
        return Files.readString(reply, StandardCharsets.UTF_8);
    }

    /** An MXBean with one model, no adapters, and operations that echo (activate of 'nosuch' is refused). */
    private static AdaptersMXBean stub() {
        return (AdaptersMXBean) Proxy.newProxyInstance(ChannelTest.class.getClassLoader(),
                new Class<?>[] {AdaptersMXBean.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getModels" -> new String[] {"Mlp#1 (io.peft4j.testmodels.Mlp): adapters []"};
                    case "getInjectedModules", "getAdapters" -> List.of();
                    case "getInterceptedForwards" -> 7L;
                    case "getSuppressedErrors", "getTransformErrors", "getUnknownAdapterRequests" -> 0L;
                    case "getAdapterRoot" -> "/models";
                    case "getDumpDir" -> "";
                    case "activate" -> {
                        if ("nosuch".equals(args[0])) {
                            throw new IllegalArgumentException("no adapter 'nosuch'");
                        }
                        yield "activated " + args[0];
                    }
                    case "combine" -> "combined " + args[0] + " from " + args[1] + " with " + args[2] + " type="
                            + args[3];
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "stub";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
